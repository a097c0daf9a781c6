-- The recovery procedure's outbox (seed step 5): a subscription-failure MESSAGE owed to a user,
-- written in the same transaction as the failed subscription's deletion and the user's MESSAGE
-- count, cleared once the MESSAGE got an answer. A server that dies in between leaves the row;
-- once its claim expires, the restarted server (or another replica) claims and sends it.
CREATE TABLE presence_outbox (
    id             TEXT PRIMARY KEY,
    aor            TEXT NOT NULL,             -- the user the MESSAGE goes to
    body           TEXT NOT NULL,             -- the failure report (JSON, crates/sip/src/body/failure_report.rs)
    created_at     BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0, -- sends that failed locally so far
    claimed_by     TEXT NOT NULL,             -- the server instance sending it (for operators)
    claimed_until  BIGINT NOT NULL            -- nobody else claims it before this time (ms)
);
CREATE INDEX presence_outbox_claimed_until ON presence_outbox (claimed_until);
