-- poc-controlling: the identity of each join group's session (seed 002 step 305): the first
-- authorized joiner's Conversation-ID and Contribution-ID, stored once (INSERT ... ON CONFLICT
-- DO NOTHING) and handed to every later joiner; they outlive sessions and restarts.
CREATE TABLE group_sessions (
    group_uri        TEXT PRIMARY KEY,
    conversation_id  TEXT NOT NULL,
    contribution_id  TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
