-- session-manager's tables (docs/session-manager.md). One SQL text for PostgreSQL and SQLite
-- (crates/runtime/src/store.rs). A UE context is written whole (sm_ues row and its child rows)
-- before any answer that depends on it is sent.

-- UE contexts (AMF): identities, 5GMM state, where the UE was last seen.
CREATE TABLE sm_ues (
    supi                       TEXT PRIMARY KEY,  -- imsi-<MCC><MNC><MSIN>
    guti                       TEXT NOT NULL,     -- 5g-guti-<PLMN><14 hex digits>
    state                      TEXT NOT NULL,     -- 'registration_initiated' | 'registered'
    gnb                        TEXT,              -- gNB name of the N1 stream it was last seen on
    ran_ue_id                  BIGINT,            -- its RAN-UE-NGAP-ID there
    out_of_coverage            BIGINT NOT NULL,   -- 1 after coverage_lost until coverage_regained
    pagings_since_registration BIGINT NOT NULL    -- reset at each REGISTRATION ACCEPT
);

-- PDU sessions (SMF) and their QoS flows, one emulated DRB each.
CREATE TABLE sm_flows (
    supi     TEXT NOT NULL,
    psi      BIGINT NOT NULL,     -- PDU session identity 1-15
    qfi      BIGINT NOT NULL,     -- 0 = the session's row without a flow (never left so today)
    five_qi  BIGINT NOT NULL,
    tmgi     TEXT,                -- set: a multicast QoS flow of this MBS session
    PRIMARY KEY (supi, psi, qfi)
);

-- MBS session associations: the UE joined TMGI on PDU session psi.
CREATE TABLE sm_tmgi_associations (
    supi     TEXT NOT NULL,
    tmgi     TEXT NOT NULL,       -- service ID as 6 hex digits [-MCC-MNC]
    psi      BIGINT NOT NULL,
    path_up  BIGINT NOT NULL,     -- 0: the UE is paged with the TMGI
    PRIMARY KEY (supi, tmgi)
);

-- Pagings sent per UE and TMGI (kept after the association goes).
CREATE TABLE sm_pagings (
    supi     TEXT NOT NULL,
    tmgi     TEXT NOT NULL,
    count    BIGINT NOT NULL,
    PRIMARY KEY (supi, tmgi)
);
