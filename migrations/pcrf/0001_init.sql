-- pcrf's tables (vPCRF and hPCRF alike). One SQL text for PostgreSQL and SQLite (see
-- crates/runtime/src/store.rs): times are BIGINT milliseconds since the Unix epoch; an absent
-- value is '' (or 0), not NULL.

-- Every session the PCRF holds: a client session (Gx, Gxx, Rx) it serves, an S9 session
-- (the vPCRF's towards home; the hPCRF's from a vPCRF), and at the hPCRF each S9 subsession
-- (TS 29.215 §4.5.1) under its S9 session.
CREATE TABLE pcrf_sessions (
    session_id         TEXT PRIMARY KEY,          -- Session-Id (subsession: "<S2>;sub=<id>")
    interface          TEXT NOT NULL,             -- gx | gxx | rx | s9 | s9-subsession
    origin_host        TEXT NOT NULL,             -- the peer that opened it (RAR/ASR go there)
    origin_realm       TEXT NOT NULL DEFAULT '',
    nai                TEXT NOT NULL DEFAULT '',  -- Subscription-Id-Data
    ipv4               TEXT NOT NULL DEFAULT '',  -- Framed-IP-Address, dotted
    apn                TEXT NOT NULL DEFAULT '',  -- Called-Station-Id
    s9_session_id      TEXT NOT NULL DEFAULT '',  -- client: its S9 session (S1 -> S2); subsession: its S9 session
    subsession_id      BIGINT NOT NULL DEFAULT 0, -- Subsession-Id; on an S9 row of the vPCRF: the last one given
    gx_session_id      TEXT NOT NULL DEFAULT '',  -- Rx: the Gx session (IP-CAN session) it is bound to
    hpcrf_host         TEXT NOT NULL DEFAULT '',  -- vPCRF S9 row: the hPCRF that answered
    hdra_mode          TEXT NOT NULL DEFAULT '',  -- vPCRF S9 row: redirect | proxy (the hDRA's behaviour)
    client_session_id  TEXT NOT NULL DEFAULT '',  -- hPCRF subsession: Corelab-Client-Session-Id
    created_ms         BIGINT NOT NULL
);
CREATE INDEX pcrf_sessions_s9 ON pcrf_sessions (s9_session_id);
CREATE INDEX pcrf_sessions_ipv4 ON pcrf_sessions (ipv4);
CREATE INDEX pcrf_sessions_nai ON pcrf_sessions (nai);
CREATE INDEX pcrf_sessions_gx ON pcrf_sessions (gx_session_id);
