-- The writer logs in (its password is set apart: ALTER ROLE tokenledger_writer PASSWORD '…') and
-- may SELECT and INSERT, nothing more. Databases migrated before this may have it NOLOGIN, or not
-- at all (003 used to go on without CREATEROLE): create or alter it now, and fail, recording
-- nothing, if this role may not.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tokenledger_writer') THEN
        CREATE ROLE tokenledger_writer LOGIN;
    ELSIF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tokenledger_writer') THEN
        ALTER ROLE tokenledger_writer LOGIN;
    END IF;
    IF NOT has_schema_privilege('tokenledger_writer', current_schema(), 'USAGE') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO tokenledger_writer', current_schema());
    END IF;
END
$$;
REVOKE ALL ON token_events FROM tokenledger_writer;
GRANT SELECT, INSERT ON token_events TO tokenledger_writer;
GRANT USAGE ON SEQUENCE token_events_position_seq TO tokenledger_writer;
-- serve reads which migrations are applied, so that it starts without DDL rights when all are.
GRANT SELECT ON tokenledger_migrations TO tokenledger_writer;
