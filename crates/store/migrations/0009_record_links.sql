-- Tombolo store, schema 9: links from a source record to a golden record of another kind
-- (where its address puts it, who owns a house, who reported an incident), or the reason it
-- has none (golden_id NULL). Written whole for each role at every resolution of the kinds
-- placed by rule.
CREATE TABLE record_link (
    source     TEXT NOT NULL,
    record_key TEXT NOT NULL,
    role       TEXT NOT NULL,
    entity     TEXT NOT NULL,
    golden_id  TEXT,
    rule       TEXT NOT NULL,
    linked_at  TEXT NOT NULL,
    PRIMARY KEY (source, record_key, role)
);
CREATE INDEX record_link_golden ON record_link (golden_id);
