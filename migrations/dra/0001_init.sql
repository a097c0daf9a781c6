-- dra's tables (vDRA and hDRA alike). One SQL text for PostgreSQL and SQLite (see
-- crates/runtime/src/store.rs): times are BIGINT milliseconds since the Unix epoch; an absent key
-- is '' (not NULL) so that one equality compares on both backends.

-- A binding (TS 29.213 §7): the PCRF chosen once for one IP-CAN session, found by the UE's NAI,
-- IPv4 address / IPv6 prefix and APN.
CREATE TABLE dra_bindings (
    binding_id   TEXT PRIMARY KEY,
    nai          TEXT NOT NULL DEFAULT '',   -- Subscription-Id-Data
    ipv4         TEXT NOT NULL DEFAULT '',   -- Framed-IP-Address, dotted
    ipv6_prefix  TEXT NOT NULL DEFAULT '',   -- Framed-IPv6-Prefix, hex of the AVP data
    apn          TEXT NOT NULL DEFAULT '',   -- Called-Station-Id
    pcrf_host    TEXT NOT NULL,              -- the chosen PCRF's Diameter identity
    created_ms   BIGINT NOT NULL
);
CREATE INDEX dra_bindings_nai ON dra_bindings (nai);
CREATE INDEX dra_bindings_ipv4 ON dra_bindings (ipv4);
CREATE INDEX dra_bindings_ipv6 ON dra_bindings (ipv6_prefix);

-- Every Diameter session of a binding (Gx, Gxx, Rx, S9; at the hDRA also the client sessions a
-- vPCRF names in Corelab-Client-Session-Id). The binding goes when its last session is gone.
CREATE TABLE dra_sessions (
    session_id      TEXT PRIMARY KEY,
    binding_id      TEXT NOT NULL REFERENCES dra_bindings (binding_id) ON DELETE CASCADE,
    interface       TEXT NOT NULL,   -- gx | gxx | rx | s9 | s9-client
    application_id  BIGINT NOT NULL,
    origin_host     TEXT NOT NULL,
    state           TEXT NOT NULL,   -- open
    created_ms      BIGINT NOT NULL
);
CREATE INDEX dra_sessions_binding ON dra_sessions (binding_id);
