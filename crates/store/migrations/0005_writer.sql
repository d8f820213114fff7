-- One writer per store. The lock itself is a PostgreSQL advisory lock or a lock file beside a
-- SQLite store; this row only says who holds it, for the message a second writer gets.
CREATE TABLE writer_lock (
    id     BIGINT PRIMARY KEY,
    holder TEXT NOT NULL
);

-- "Changed since" by a store-side counter, never by clocks. Each transaction that writes source
-- records takes the next value by updating this row, whose lock it then holds until it commits:
-- values are handed out in commit order, so a resolution that saw value N has seen every
-- record written with a value up to N.
CREATE TABLE change_counter (
    id    BIGINT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);

ALTER TABLE source_record ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX source_record_change ON source_record (entity, change_seq);

-- The counter value a resolution covered; NULL (a store from before this migration) means the
-- next resolution is a full one.
ALTER TABLE resolve_state ADD COLUMN resolved_seq BIGINT;
