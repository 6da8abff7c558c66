-- The role the service runs as (`tokenledger serve`): it may read and append, nothing else. It
-- does not own token_events, so it can neither UPDATE, DELETE nor TRUNCATE the log nor
-- `ALTER TABLE token_events DISABLE TRIGGER`; only the owner, who runs `tokenledger migrate`, can.
-- Creating the role needs CREATEROLE: without it this migration fails, and nothing is recorded.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tokenledger_writer') THEN
        CREATE ROLE tokenledger_writer LOGIN;
    END IF;
END
$$;
REVOKE ALL ON token_events FROM tokenledger_writer;
GRANT SELECT, INSERT ON token_events TO tokenledger_writer;
GRANT USAGE ON SEQUENCE token_events_position_seq TO tokenledger_writer;
