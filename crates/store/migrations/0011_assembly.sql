-- Tombolo store, schema 11: what the last assembly of places, houses and incidents covered,
-- so a run in which nothing it reads has changed (no source record stored, no golden record
-- of any kind written, the same rules) skips it.
CREATE TABLE assembly_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    change_seq   BIGINT NOT NULL,
    outbox_seq   BIGINT NOT NULL,
    fingerprint  TEXT   NOT NULL,
    assembled_at TEXT   NOT NULL
);
