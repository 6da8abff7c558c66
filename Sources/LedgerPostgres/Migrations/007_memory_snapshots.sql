-- Snapshots of the memory model (MemorySnapshotWriter): every stream folded up to `position`,
-- sealed with a key derived from the current secrets key (they hold opened secrets and tokens),
-- bound to `position`, `format` and `key_ids`. A replica that starts restores the newest one
-- its code and keys fold alike, and reads only the events after it. Derived, never the record:
-- the log is; `replay` and `verify` do not read them, and deleting them costs a longer start.
CREATE TABLE IF NOT EXISTS memory_snapshots (
    position   bigint      PRIMARY KEY CHECK (position > 0),
    format     integer     NOT NULL,
    key_ids    text        NOT NULL,
    node       text        NOT NULL,
    state      bytea       NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);

-- serve (tokenledger_writer) writes snapshots (one at a position already taken replaces it) and
-- deletes the older ones; nothing here is the log.
GRANT SELECT, INSERT, UPDATE, DELETE ON memory_snapshots TO tokenledger_writer;
