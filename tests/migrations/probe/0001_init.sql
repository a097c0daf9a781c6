-- A second kind of node for tests/tests/store_shared_postgres.rs: its version 1, like
-- presence's 0001_init.sql, with another checksum. Before each kind had its own schema, the two
-- met in one `_sqlx_migrations` table and the second node refused to start.
CREATE TABLE probe_notes (
    id    BIGINT PRIMARY KEY,
    note  TEXT NOT NULL
);
