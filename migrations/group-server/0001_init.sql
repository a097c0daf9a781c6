-- group-server: one XCAP document per PoC group (AUID org.openmobilealliance.poc-groups,
-- docs/group-server.md). The document is kept whole as text; the owner is copied out of it
-- for authorization, the ETag is strong and changes with every write.
CREATE TABLE group_documents (
    group_uri   TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    document    TEXT NOT NULL,
    etag        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
