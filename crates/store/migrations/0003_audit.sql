-- Tombolo store, schema 3: department grants and the audit trail.

-- Department grants as configured, one row per change; the newest row of a department is in
-- force. Kept, never updated, so every delivery can name the grant version it was made under.
CREATE TABLE grant_version (
    id           ${ID},
    department   TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    grants       TEXT   NOT NULL,
    content_hash TEXT   NOT NULL,
    created_at   TEXT   NOT NULL
);
CREATE UNIQUE INDEX grant_version_department ON grant_version (department, version);

-- The audit trail: deliveries, grant changes, admin actions. Append-only: the store has no
-- statement that updates or deletes these rows.
CREATE TABLE audit (
    id         ${ID},
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    department TEXT,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX audit_kind ON audit (kind, id);
CREATE INDEX audit_department ON audit (department, id);

-- The golden records (and versions) each delivery carried, for `tombolo audit --person`.
CREATE TABLE audit_record (
    audit_id  BIGINT NOT NULL,
    golden_id TEXT   NOT NULL,
    version   BIGINT NOT NULL
);
CREATE INDEX audit_record_golden ON audit_record (golden_id);
