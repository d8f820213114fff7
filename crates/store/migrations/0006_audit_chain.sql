-- Tombolo store, schema 6: the audit trail made tamper-evident. Each entry carries its place in
-- the chain (n), the hash of the entry before it and its own hash over both and its content
-- (and, for a delivery, the golden records it carried): an entry edited, removed from the
-- middle or reordered breaks the chain, which `tombolo audit verify` checks. Entries written
-- before this schema are chained when it is applied. On PostgreSQL triggers refuse UPDATE,
-- DELETE and TRUNCATE of the trail (added by the migrator).
ALTER TABLE audit ADD COLUMN n BIGINT;
ALTER TABLE audit ADD COLUMN prev_hash TEXT;
ALTER TABLE audit ADD COLUMN entry_hash TEXT;
