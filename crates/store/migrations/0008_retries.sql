-- Tombolo store, schema 8: how many times the last run of a source was retried after a
-- transient failure (a database, broker or API that was down or slow), for `tombolo status`.
ALTER TABLE source_status ADD COLUMN last_retries BIGINT NOT NULL DEFAULT 0;
