-- The role the service should run as in production: it may only read and append.
-- Creating a role needs CREATEROLE; without it the migration notes so and goes on.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tokenledger_writer') THEN
        CREATE ROLE tokenledger_writer NOLOGIN;
    END IF;
    REVOKE ALL ON token_events FROM tokenledger_writer;
    GRANT SELECT, INSERT ON token_events TO tokenledger_writer;
    GRANT USAGE ON SEQUENCE token_events_position_seq TO tokenledger_writer;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'tokenledger_writer not created: the migrating role lacks CREATEROLE';
END
$$;
