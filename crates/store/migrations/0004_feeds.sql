-- Tombolo store, schema 4: the state of each department's feed.

-- A department's feed is complete for `grant_version` when `cursor` is null. A new department
-- or a changed grant starts a backfill: every golden record of the kinds it receives, in
-- golden id order, re-sent under the grant in force; `cursor` is the last golden id sent, so
-- an interrupted backfill resumes where it stopped. A backfill sends the golden records as
-- they are, which already include every outbox entry up to `skip_through` (the outbox's last
-- id when the backfill started), so those entries are not sent to the department again.
CREATE TABLE department_feed (
    department    TEXT PRIMARY KEY,
    grant_version BIGINT NOT NULL,
    cursor        TEXT,
    skip_through  BIGINT NOT NULL,
    updated_at    TEXT NOT NULL
);
