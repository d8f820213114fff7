-- Tombolo store, schema 15: the quality scorecards of each run, kept to be compared over time
-- (`tombolo report` draws the trend); a run that stored, withdrew or changed nothing takes none.
-- `change_seq`: the store's change counter the snapshot covered. `data`: the scorecards as JSON
-- (counts and shares per source and field, no personal value).
CREATE TABLE scorecard_snapshot (
    id         ${ID},
    taken_at   TEXT   NOT NULL,
    change_seq BIGINT NOT NULL,
    data       TEXT   NOT NULL
);
