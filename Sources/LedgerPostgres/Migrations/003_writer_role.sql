-- The role the service runs as (`tokenledger serve`): it may read and append, nothing else (its
-- grants are in 004). It does not own token_events, so it can neither UPDATE, DELETE nor TRUNCATE
-- the log nor `ALTER TABLE token_events DISABLE TRIGGER`; only the owner, who runs
-- `tokenledger migrate`, can. Creating the role needs CREATEROLE: without it this migration
-- fails, and nothing is recorded.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tokenledger_writer') THEN
        CREATE ROLE tokenledger_writer LOGIN;
    END IF;
END
$$;
