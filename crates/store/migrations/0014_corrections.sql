-- Tombolo store, schema 14: corrections sent back to departments. A correction is a field of a
-- source record whose value lost to another source's in its golden record (`tombolo
-- reconcile`). status: open (the department should look), fixed (a later pull brought the
-- value in line), withdrawn (the record is gone), disputed (the department says its value is
-- right: the pair went to review). Values are not kept here: they are read from the records.
CREATE TABLE correction (
    id             ${ID},
    source         TEXT NOT NULL,
    record_key     TEXT NOT NULL,
    entity         TEXT NOT NULL,
    field          TEXT NOT NULL,
    golden_id      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    winner_source  TEXT NOT NULL,
    winner_key     TEXT NOT NULL,
    status         TEXT NOT NULL,
    opened_at      TEXT NOT NULL,
    closed_at      TEXT,
    disputed_by    TEXT,
    dispute_reason TEXT
);
CREATE INDEX correction_source ON correction (source, status);
CREATE INDEX correction_record ON correction (source, record_key, field);
