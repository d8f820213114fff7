-- Tombolo store, schema 2: the probabilistic engine's state.

-- Records a source withdrew through its soft-delete marker, last run.
ALTER TABLE source_status ADD COLUMN last_deleted BIGINT NOT NULL DEFAULT 0;

-- Why each record sits in its golden record: the pair that tied it, scored (JSON).
ALTER TABLE crosswalk ADD COLUMN evidence TEXT;

-- Trained parameters per entity kind; the newest row is in force. Kept, never updated, so
-- that every resolution can name the parameters it used.
CREATE TABLE model (
    id         ${ID},
    entity     TEXT   NOT NULL,
    params     TEXT   NOT NULL,
    records    BIGINT NOT NULL,
    trained_at TEXT   NOT NULL
);
CREATE INDEX model_entity ON model (entity, id);

-- The last resolution of each kind: records stored after resolved_at are resolved next time.
CREATE TABLE resolve_state (
    entity      TEXT PRIMARY KEY,
    model_id    BIGINT,
    resolved_at TEXT NOT NULL
);

-- Pairs a person should look at: between the review and link thresholds, or strong pairs a
-- hard constraint kept apart. status: open | match | distinct.
CREATE TABLE review_queue (
    id          ${ID},
    entity      TEXT   NOT NULL,
    a_source    TEXT   NOT NULL,
    a_key       TEXT   NOT NULL,
    b_source    TEXT   NOT NULL,
    b_key       TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    probability ${REAL} NOT NULL,
    explanation TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    created_at  TEXT   NOT NULL,
    decided_at  TEXT,
    decided_by  TEXT,
    note        TEXT
);
CREATE UNIQUE INDEX review_pair ON review_queue (entity, a_source, a_key, b_source, b_key);
CREATE INDEX review_status ON review_queue (entity, status);

-- Reviewers' decisions: they override the engine and survive retraining and re-runs.
CREATE TABLE match_decision (
    entity     TEXT NOT NULL,
    a_source   TEXT NOT NULL,
    a_key      TEXT NOT NULL,
    b_source   TEXT NOT NULL,
    b_key      TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    reason     TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (entity, a_source, a_key, b_source, b_key)
);
