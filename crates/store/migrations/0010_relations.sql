-- Tombolo store, schema 10: relationships between golden records (lives at, owns, works for,
-- happened at, reported by, located at), keyed by kind and both golden ids, with the source
-- record that asserts each; ended_at is set when no record asserts it any more (a merge moves
-- a retired id's relationships to the survivor: the old ones end, the survivor's start).
CREATE TABLE relation (
    kind          TEXT NOT NULL,
    from_id       TEXT NOT NULL,
    to_id         TEXT NOT NULL,
    source        TEXT NOT NULL,
    record_key    TEXT NOT NULL,
    observed_at   TEXT,
    first_seen_at TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    ended_at      TEXT,
    PRIMARY KEY (kind, from_id, to_id)
);
CREATE INDEX relation_from ON relation (from_id);
CREATE INDEX relation_to ON relation (to_id);

-- Every start, change of asserting record, and end of a relationship.
CREATE TABLE relation_history (
    id         ${ID},
    kind       TEXT NOT NULL,
    from_id    TEXT NOT NULL,
    to_id      TEXT NOT NULL,
    event      TEXT NOT NULL,
    source     TEXT,
    record_key TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX relation_history_ids ON relation_history (from_id, to_id);
