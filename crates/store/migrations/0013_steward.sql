-- Tombolo store, schema 13: stewards' corrections of golden records and the history of merges.

-- A steward's merge or split of golden records, or the unmerge that undoes a merge. Each names
-- the golden records and the records on each side as they stood when it was asked:
--   merge:   sides [[records of the first], [records of the second]]: one golden record from
--            now on, under the first id;
--   split:   sides [[records taken out], [records left]]: kept apart, the left keep the id;
--   unmerge: sides [[records of the retired], [records of the survivor]]: kept apart, each
--            under the id it had before the merge.
-- The decisions these imply are applied by every resolution (as reviewers' decisions are).
-- `applied_at`: the first resolution after it ran (ids are restored by that one only).
-- `undone_by`: the unmerge that undid this merge.
CREATE TABLE steward_action (
    id         ${ID},
    entity     TEXT NOT NULL,
    action     TEXT NOT NULL,
    golden_ids TEXT NOT NULL,
    sides      TEXT NOT NULL,
    merge_event BIGINT,
    reason     TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    applied_at TEXT,
    undone_by  BIGINT
);
CREATE INDEX steward_action_entity ON steward_action (entity, id);

-- Every merge of two golden records a resolution made, the engine's or a steward's, with both
-- sides' records as they were just before it: what `tombolo unmerge` needs to undo it.
-- cause: `engine`, or `steward:<action id>`.
CREATE TABLE merge_event (
    id               ${ID},
    entity           TEXT NOT NULL,
    survivor         TEXT NOT NULL,
    retired          TEXT NOT NULL,
    survivor_members TEXT NOT NULL,
    retired_members  TEXT NOT NULL,
    cause            TEXT NOT NULL,
    at               TEXT NOT NULL,
    undone_by        BIGINT
);
CREATE INDEX merge_event_survivor ON merge_event (survivor);
CREATE INDEX merge_event_retired ON merge_event (retired);
