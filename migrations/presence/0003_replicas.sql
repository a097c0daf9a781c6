-- Several presence-server processes on one PostgreSQL (docs/presence.md, "Replicas").
-- RFC 6665 §4.2.2: one NOTIFY in flight per dialog, across processes too. The process that takes
-- a dialog's next NOTIFY holds it until notify_until (longer than Timer F); another process that
-- wants to NOTIFY meanwhile sets notify_pending and the holder sends the latest state for it
-- (told by a PostgreSQL NOTIFY), or, if the holder died, any process does once the hold expires.
ALTER TABLE presence_subscriptions ADD COLUMN notify_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE presence_subscriptions ADD COLUMN notify_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE presence_subscriptions ADD COLUMN notify_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX presence_subscriptions_pending
    ON presence_subscriptions (notify_until) WHERE notify_pending = 1;
