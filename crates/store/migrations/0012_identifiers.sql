-- Tombolo store, schema 12: exact lookups of identifiers that are sealed at rest (resident
-- IDs, phones, names), through a keyed hash of each value under the keyring's lookup key
-- (plain SHA-256 in a store without a keyring, whose values are in clear anyway). A batch a
-- source writes appends its entries to `identifier_pending` (no index to keep: a pull is not
-- slowed by random inserts into a large one); resolution merges them into `identifier_index`
-- sorted, in one statement. Lookups read both and check each record's current values, so an
-- entry left by a changed or withdrawn record finds nothing. `identifier_state` says under
-- which key the whole index was built: a store from before this schema, or one given a
-- keyring, is indexed again once.
CREATE TABLE identifier_index (
    field      TEXT NOT NULL,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    record_key TEXT NOT NULL,
    PRIMARY KEY (field, hash, source, record_key)
);
CREATE TABLE identifier_pending (
    field      TEXT NOT NULL,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    record_key TEXT NOT NULL
);
CREATE TABLE identifier_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    lookup_id  TEXT NOT NULL,
    indexed_at TEXT NOT NULL
);
