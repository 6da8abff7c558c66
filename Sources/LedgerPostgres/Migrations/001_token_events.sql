-- The log: one row per event, never updated or deleted.
--
-- `position` is handed out at insert time but becomes visible only at commit. Appends are
-- therefore serialised by pg_advisory_xact_lock(21581, 0), taken in the appending transaction
-- *before* the insert and held until commit (PostgresEventLog.append): a position is never
-- assigned while an earlier one is still uncommitted, so a catch-up reader that has seen P
-- never later finds P-1 committed behind it. Holes from rolled-back appends stay holes.
CREATE TABLE IF NOT EXISTS token_events (
    position    bigserial   PRIMARY KEY,
    project     text        NOT NULL,
    platform    text        NOT NULL,
    appid       text        NOT NULL,
    version     bigint      NOT NULL CHECK (version > 0),
    type        text        NOT NULL,
    data        jsonb       NOT NULL,
    metadata    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Two writers that both saw version N cannot both write N+1: this is the optimistic
    -- concurrency guarantee behind `expectedVersion`.
    CONSTRAINT token_events_stream_version UNIQUE (project, platform, appid, version)
);

CREATE INDEX IF NOT EXISTS token_events_type_position ON token_events (type, position);
