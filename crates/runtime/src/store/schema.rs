//! One PostgreSQL schema per kind of node, so that every node shares one database.
//!
//! sqlx's migrator keeps its bookkeeping in an unqualified `_sqlx_migrations` table and creates
//! it with `CREATE TABLE IF NOT EXISTS` (sqlx-postgres `migrate.rs`), so it lands in the first
//! schema of the connection's `search_path`, like the node's own unqualified tables. With every
//! pool connection's `search_path` set to the node's schema, presence's version 1 and another
//! node's version 1 live in two tables and never meet. (Its advisory lock is keyed on the
//! database name: nodes of two kinds that start together migrate one after the other.)
//!
//! Replicas of one kind share the schema, which is what they want: one set of tables.

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

/// Longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1); longer ones are truncated.
const MAX_IDENTIFIER: usize = 63;

/// Advisory lock taken while creating a schema: `CREATE SCHEMA IF NOT EXISTS` is not safe
/// against itself (two replicas starting together: one gets a unique violation on
/// `pg_namespace`). The bytes spell "corelab" and a 1.
const CREATE_LOCK: i64 = 0x636f_7265_6c61_6201;

/// Is `name` a plain identifier: lowercase ASCII letters, digits and `_`, starting with a letter
/// or `_`, at most 63 bytes, and not in PostgreSQL's reserved `pg_` prefix? Such a name means the
/// same quoted and unquoted, so psql users can type it as is (`SET search_path TO presence`).
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= MAX_IDENTIFIER
        && !name.starts_with("pg_")
}

/// `SET search_path TO "<schema>"`, run on every pool connection (`schema` already checked by
/// [`is_plain_identifier`]).
pub fn set_search_path(schema: &str) -> String {
    format!("SET search_path TO \"{schema}\"")
}

/// Creates `schema` unless it exists. A schema that exists is left alone, so a role without
/// the CREATE privilege on the database works with a schema an administrator made for it.
pub async fn ensure(url: &str, schema: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    let result = create_unless_exists(&mut conn, schema).await;
    let _ = conn.close().await;
    result
}

async fn create_unless_exists(conn: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut *conn)
            .await?;
    if exists {
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CREATE_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(schema, "store: schema created");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_plain_identifier;

    #[test]
    fn plain_identifiers_only() {
        for ok in ["presence", "pcrf_home", "_x", "dra2", &"a".repeat(63)] {
            assert!(is_plain_identifier(ok), "{ok}");
        }
        for bad in [
            "",
            "Presence",
            "presence-server",
            "2dra",
            "a b",
            "x\";DROP",
            "pg_catalog",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }
}
