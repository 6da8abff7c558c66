-- Where each configured webhook stands (WebhookProjector): the last position delivered or
-- passed over, and whether delivery is parked until `tokenledger webhooks resume`. Kept with the
-- log so that every replica sees it: whichever leads a webhook goes on from here. Moves are
-- compare-and-set on `position` (UPDATE … WHERE position = expected), so that a leader that lost
-- its place never writes over a resume.
CREATE TABLE IF NOT EXISTS webhook_checkpoints (
    id            text        PRIMARY KEY,
    position      bigint      NOT NULL CHECK (position >= 0),
    parked_at     timestamptz,
    parked_reason text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- serve (tokenledger_writer) creates, moves and parks checkpoints; nothing here is the log, so
-- it may update them (it still cannot touch token_events).
GRANT SELECT, INSERT, UPDATE ON webhook_checkpoints TO tokenledger_writer;
