-- poc-participating: the users this participating function serves (docs/poc.md, "poc-participating").
-- One row per user: the SIP URI (address-of-record), where requests towards the user go, and
-- whether the user is barred from group session requests (sent and received).
CREATE TABLE pf_users (
    uri         TEXT PRIMARY KEY,
    contact     TEXT NOT NULL,
    barred      BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
