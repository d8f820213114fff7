-- Tombolo store, schema 1. One file for SQLite and PostgreSQL: ${ID} is an auto-assigned
-- 64-bit primary key in either dialect. Booleans are BIGINT 0/1, times RFC 3339 text.

-- Source records: only the normalised values a mapping names (minimal collection).
CREATE TABLE source_record (
    source        TEXT   NOT NULL,
    record_key    TEXT   NOT NULL,
    entity        TEXT   NOT NULL,
    content_hash  TEXT   NOT NULL,
    data          TEXT   NOT NULL,
    observed_at   TEXT,
    first_seen_at TEXT   NOT NULL,
    updated_at    TEXT   NOT NULL,
    deleted       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (source, record_key)
);
CREATE INDEX source_record_entity ON source_record (entity);

-- Resume state of each connector, saved in the same transaction as the batch it follows.
CREATE TABLE checkpoint (
    source     TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Counters per source: last run and totals. pulled = accepted + quarantined, always.
CREATE TABLE source_status (
    source            TEXT PRIMARY KEY,
    entity            TEXT   NOT NULL,
    last_run_at       TEXT,
    last_pulled       BIGINT NOT NULL DEFAULT 0,
    last_accepted     BIGINT NOT NULL DEFAULT 0,
    last_quarantined  BIGINT NOT NULL DEFAULT 0,
    last_new          BIGINT NOT NULL DEFAULT 0,
    last_changed      BIGINT NOT NULL DEFAULT 0,
    last_unchanged    BIGINT NOT NULL DEFAULT 0,
    total_pulled      BIGINT NOT NULL DEFAULT 0,
    total_accepted    BIGINT NOT NULL DEFAULT 0,
    total_quarantined BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT
);

-- Input that could not be used, with the reason. Never deleted; resolved_at is set when a
-- later version of the same record is accepted.
CREATE TABLE quarantine (
    id          ${ID},
    source      TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    error_class TEXT NOT NULL,
    reason      TEXT NOT NULL,
    excerpt     TEXT NOT NULL,
    at          TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX quarantine_source ON quarantine (source, record_key);

-- Golden records. A retired record (merged into another) keeps its row with retired_into set.
CREATE TABLE golden (
    golden_id    TEXT PRIMARY KEY,
    entity       TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    content_hash TEXT   NOT NULL,
    data         TEXT   NOT NULL,
    created_at   TEXT   NOT NULL,
    updated_at   TEXT   NOT NULL,
    retired_into TEXT
);
CREATE INDEX golden_entity ON golden (entity);

-- Which golden record each source record belongs to, and why.
CREATE TABLE crosswalk (
    source     TEXT NOT NULL,
    record_key TEXT NOT NULL,
    entity     TEXT NOT NULL,
    golden_id  TEXT NOT NULL,
    rule       TEXT NOT NULL,
    linked_at  TEXT NOT NULL,
    PRIMARY KEY (source, record_key)
);
CREATE INDEX crosswalk_golden ON crosswalk (golden_id);

CREATE TABLE crosswalk_history (
    id            ${ID},
    source        TEXT NOT NULL,
    record_key    TEXT NOT NULL,
    entity        TEXT NOT NULL,
    old_golden_id TEXT,
    new_golden_id TEXT,
    rule          TEXT NOT NULL,
    at            TEXT NOT NULL
);

-- Everything to publish, in order. The publisher reads only from here.
CREATE TABLE outbox (
    id           ${ID},
    entity       TEXT   NOT NULL,
    golden_id    TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    event        TEXT   NOT NULL,
    payload      TEXT   NOT NULL,
    created_at   TEXT   NOT NULL,
    published_at TEXT
);
CREATE INDEX outbox_pending ON outbox (published_at, id);
