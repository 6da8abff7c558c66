-- An append in one statement (PostgresEventLog.append): the append lock, then the events of
-- appends to distinct streams, each append's events inserted, in order, only if its stream is at
-- the expected version. Called alone it is its own transaction, so a group-committed batch costs
-- one round trip and holds the append lock only while the statement runs (no client can leave it
-- idle in a transaction); inside a fenced append's transaction the lock is taken again, harmlessly.
--
-- The function is VOLATILE, so its INSERT takes a snapshot of its own *after* the lock is
-- granted (PL/pgSQL, so that its plan is made once per connection, not at every call): the version check and the positions see every append committed before this one, as
-- the lock-then-insert transaction did (see 001). The NOTIFY rides on each inserted row;
-- PostgreSQL delivers one per channel and payload, at commit. It runs with the caller's rights
-- (tokenledger_writer may SELECT and INSERT, nothing more).
CREATE OR REPLACE FUNCTION token_events_append(
    projects text[], platforms text[], appids text[], versions bigint[], expected bigint[],
    types text[], data text[], metadata text[], channel text
) RETURNS TABLE (project text, platform text, appid text, version bigint, "position" bigint, recorded_ms bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(21581, 0);
    RETURN QUERY WITH input AS (
        SELECT * FROM unnest(projects, platforms, appids, versions, expected, types, data, metadata)
            WITH ORDINALITY AS t(project, platform, appid, version, expected, type, data, metadata, ord)
    ), checked AS (
        SELECT input.*, (SELECT coalesce(max(e.version), 0) FROM token_events e
                         WHERE e.project = input.project AND e.platform = input.platform AND e.appid = input.appid) AS current
        FROM input
    ), inserted AS (
        INSERT INTO token_events (project, platform, appid, version, type, data, metadata)
        SELECT c.project, c.platform, c.appid, c.version, c.type, c.data::jsonb, c.metadata::jsonb
        FROM checked c WHERE c.current = c.expected ORDER BY c.ord
        RETURNING token_events.project, token_events.platform, token_events.appid, token_events.version,
                  token_events.position, (extract(epoch FROM token_events.recorded_at) * 1000)::bigint AS recorded_ms,
                  pg_notify(channel, '') AS notified
    )
    SELECT inserted.project, inserted.platform, inserted.appid, inserted.version, inserted.position, inserted.recorded_ms FROM inserted;
END
$$;

GRANT EXECUTE ON FUNCTION token_events_append(text[], text[], text[], bigint[], bigint[], text[], text[], text[], text) TO tokenledger_writer;
