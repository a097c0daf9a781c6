-- presence-server's tables. One SQL text for PostgreSQL and SQLite (see crates/runtime/src/store.rs):
-- times are BIGINT milliseconds since the Unix epoch, documents are TEXT.

-- Registrations (direct REGISTER, or third-party REGISTER from the S-CSCF, TS 24.229 §5.4.1.7).
CREATE TABLE presence_registrations (
    aor            TEXT PRIMARY KEY,
    contact        TEXT NOT NULL,   -- the UE's contact (direct) or the S-CSCF's (third party)
    mode           TEXT NOT NULL,   -- 'direct' | 'third_party'
    call_id        TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    registered_at  BIGINT NOT NULL,
    -- MESSAGEs sent for failed NOTIFYs during this registration (seed step 5/7); 0 on a new one.
    message_count  BIGINT NOT NULL DEFAULT 0
);

-- Subscriptions: the notifier side of an RFC 6665 dialog.
CREATE TABLE presence_subscriptions (
    id             TEXT PRIMARY KEY,
    package        TEXT NOT NULL,   -- 'presence' | 'reg' | 'presence.winfo'
    event_id       TEXT NOT NULL,   -- Event header id parameter, '' when absent
    resource       TEXT NOT NULL,   -- AOR watched
    watcher        TEXT NOT NULL,   -- AOR of the subscriber
    local_uri      TEXT NOT NULL,   -- our From in NOTIFY (the SUBSCRIBE's To)
    remote_uri     TEXT NOT NULL,   -- our To in NOTIFY (the SUBSCRIBE's From)
    call_id        TEXT NOT NULL,
    remote_tag     TEXT NOT NULL,
    local_tag      TEXT NOT NULL,
    remote_target  TEXT NOT NULL,   -- the subscriber's Contact
    route_set      TEXT NOT NULL,   -- Record-Route of the SUBSCRIBE, comma-separated, '' if none
    transport      TEXT NOT NULL,   -- transport the SUBSCRIBE came on: 'udp' | 'tcp'
    local_cseq     BIGINT NOT NULL, -- CSeq of our last NOTIFY
    remote_cseq    BIGINT NOT NULL, -- CSeq of the subscriber's last SUBSCRIBE
    expires_at     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 0  -- reginfo/watcherinfo document version
);
CREATE UNIQUE INDEX presence_subscriptions_dialog
    ON presence_subscriptions (call_id, remote_tag, local_tag, package, event_id);
CREATE INDEX presence_subscriptions_resource ON presence_subscriptions (resource, package);
CREATE INDEX presence_subscriptions_watcher ON presence_subscriptions (watcher);
CREATE INDEX presence_subscriptions_expires ON presence_subscriptions (expires_at);

-- Event state publications (RFC 3903), one row per entity-tag.
CREATE TABLE presence_publications (
    etag        TEXT PRIMARY KEY,
    resource    TEXT NOT NULL,
    document    TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX presence_publications_resource ON presence_publications (resource);

-- Alarms raised to the administrator (seed step 8); cleared_at = 0 while active.
CREATE TABLE presence_alarms (
    id          BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    aor         TEXT NOT NULL,
    detail      TEXT NOT NULL,
    raised_at   BIGINT NOT NULL,
    cleared_at  BIGINT NOT NULL DEFAULT 0
);

-- Users forbidden to log in (seed step 8, "bar" outcome) until an administrator clears it.
CREATE TABLE presence_bars (
    aor     TEXT PRIMARY KEY,
    reason  TEXT NOT NULL,
    since   BIGINT NOT NULL
);
