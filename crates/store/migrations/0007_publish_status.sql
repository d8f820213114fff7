-- Tombolo store, schema 7: how the last publication went, for `tombolo status` (a broker that
-- is down shows there, not only in the output of the run that met it).
CREATE TABLE publish_status (
    id           BIGINT PRIMARY KEY,
    last_run_at  TEXT   NOT NULL,
    published    BIGINT NOT NULL,
    last_error   TEXT
);
