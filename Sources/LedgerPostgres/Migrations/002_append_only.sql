-- The log is append-only by construction: these triggers reject UPDATE, DELETE and TRUNCATE
-- for every role, the table's owner included.
CREATE OR REPLACE FUNCTION token_events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'token_events is append-only: % rejected', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS token_events_no_update_delete ON token_events;
CREATE TRIGGER token_events_no_update_delete
    BEFORE UPDATE OR DELETE ON token_events
    FOR EACH ROW EXECUTE FUNCTION token_events_reject_change();

DROP TRIGGER IF EXISTS token_events_no_truncate ON token_events;
CREATE TRIGGER token_events_no_truncate
    BEFORE TRUNCATE ON token_events
    FOR EACH STATEMENT EXECUTE FUNCTION token_events_reject_change();
