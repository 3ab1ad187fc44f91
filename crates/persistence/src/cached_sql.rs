//! [`cached_sql`]: a hand-written statement that Diesel keeps prepared on the connection.
//!
//! `diesel::sql_query` marks every statement as unsafe to cache, so PostgreSQL parses and plans
//! it on every call (for the batch's key claim that was more than executing it) and SQLite
//! compiles it again each time. A statement whose text is fixed can be cached safely:
//! Diesel's statement cache then keys it by its text and bind types, and each pooled connection
//! prepares it once. Not for a statement whose best plan depends on the size of a table that
//! grows under it: PostgreSQL plans a prepared statement once, generically, from the size the
//! table had then (a join of a batch's keys to `idempotency_keys` kept a sequential scan; the
//! key functions now probe the primary key once per key, migration
//! `2026-11-28-000000_chaves_sem_escrita`). Behind a pooler in transaction mode the cache is disabled (`session.rs`), and
//! the statement is sent unnamed as before.
//!
//! On SQLite a cached statement is compiled again anyway (`sqlite3Reprepare`) at every new
//! binding of a parameter its plan may depend on: a `LIMIT ?` (Diesel's `first`, so unique reads
//! on hot paths use `get_result`), or a value compared with a partial index's constant (write
//! the constant in the text, as the waiting check of the SQLite assignment does).

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A fixed SQL text with `$n` (PostgreSQL) or `?` (SQLite) placeholders, bound with
/// [`CachedSql::bind`] in order, as `sql_query(..).bind(..)` is.
pub(crate) fn cached_sql(sql: &'static str) -> CachedSql<()> {
    CachedSql { sql, binds: () }
}

/// See [`cached_sql`].
#[must_use = "a statement runs only when loaded or executed"]
pub(crate) struct CachedSql<B> {
    sql: &'static str,
    binds: B,
}

impl<B> CachedSql<B> {
    /// Binds the next placeholder to `value` as SQL type `ST`.
    pub(crate) fn bind<ST, V>(self, value: V) -> CachedSql<(B, Bound<ST, V>)> {
        CachedSql {
            sql: self.sql,
            binds: (
                self.binds,
                Bound {
                    value,
                    sql_type: PhantomData,
                },
            ),
        }
    }
}

/// One bound value.
pub(crate) struct Bound<ST, V> {
    value: V,
    sql_type: PhantomData<ST>,
}

/// The bound values, pushed in the order they were bound, each where the next placeholder of
/// the text is (`rest`: the text not pushed yet).
pub(crate) trait Binds<DB: Backend> {
    /// How many values.
    const COUNT: usize;

    fn push<'b>(
        &'b self,
        out: &mut AstPass<'_, 'b, DB>,
        rest: &mut &'static str,
    ) -> QueryResult<()>;
}

impl<DB: Backend> Binds<DB> for () {
    const COUNT: usize = 0;

    fn push<'b>(&'b self, _: &mut AstPass<'_, 'b, DB>, _: &mut &'static str) -> QueryResult<()> {
        Ok(())
    }
}

impl<DB, B, ST, V> Binds<DB> for (B, Bound<ST, V>)
where
    DB: Backend + HasSqlType<ST>,
    B: Binds<DB>,
    V: ToSql<ST, DB>,
{
    const COUNT: usize = B::COUNT + 1;

    fn push<'b>(
        &'b self,
        out: &mut AstPass<'_, 'b, DB>,
        rest: &mut &'static str,
    ) -> QueryResult<()> {
        self.0.push(out, rest)?;
        let (before, after) = next_placeholder(rest, Self::COUNT)?;
        out.push_sql(before);
        *rest = after;
        // Writes the backend's placeholder for this position: `$n` or `?`, as in the text.
        out.push_bind_param(&self.1.value)
    }
}

/// The text before the placeholder of bind number `number` (1-based) and the text after it.
/// PostgreSQL's placeholders must be `$1`, `$2`, … in that order, each once (what Diesel writes
/// for binds pushed in order); SQLite's are `?`.
fn next_placeholder(
    text: &'static str,
    number: usize,
) -> QueryResult<(&'static str, &'static str)> {
    let bytes = text.as_bytes();
    for (at, byte) in bytes.iter().enumerate() {
        match byte {
            b'?' => return Ok((&text[..at], &text[at + 1..])),
            b'$' => {
                let digits = bytes[at + 1..]
                    .iter()
                    .take_while(|digit| digit.is_ascii_digit())
                    .count();
                if digits == 0 {
                    continue;
                }
                let end = at + 1 + digits;
                if text[at + 1..end] != number.to_string() {
                    return Err(misplaced(text, number));
                }
                return Ok((&text[..at], &text[end..]));
            }
            _ => {}
        }
    }
    Err(misplaced(text, number))
}

fn misplaced(text: &str, number: usize) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        format!("placeholder {number} is not the next one in the statement: {text}").into(),
    )
}

impl<DB: Backend, B: Binds<DB>> QueryFragment<DB> for CachedSql<B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut rest = self.sql;
        self.binds.push(&mut out, &mut rest)?;
        out.push_sql(rest);
        Ok(())
    }
}

/// No static id: the cache keys the statement by its text and bind types.
impl<B> QueryId for CachedSql<B> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B> Query for CachedSql<B> {
    type SqlType = Untyped;
}

impl<B, Conn> RunQueryDsl<Conn> for CachedSql<B> {}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
    use diesel::sql_types::{BigInt, Text};
    use diesel::{Connection, QueryableByName, SqliteConnection};

    use super::*;

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Text)]
        t: String,
    }

    /// The statements the connection prepared and kept, in order.
    fn cached_statements(conn: &mut SqliteConnection) -> Arc<Mutex<Vec<String>>> {
        let cached = Arc::new(Mutex::new(Vec::new()));
        let seen = cached.clone();
        let instrumentation: Box<dyn Instrumentation> =
            Box::new(move |event: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                    seen.lock().unwrap().push(sql.to_owned());
                }
            });
        conn.set_instrumentation(instrumentation);
        cached
    }

    #[test]
    fn binds_in_order_and_each_text_is_prepared_once_per_connection() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("CREATE TABLE t (n BIGINT NOT NULL, t TEXT NOT NULL)")
            .unwrap();
        let cached = cached_statements(&mut conn);
        for (n, t) in [(1_i64, "um"), (2, "dois"), (3, "três")] {
            cached_sql("INSERT INTO t (n, t) VALUES (?, ?)")
                .bind::<BigInt, _>(n)
                .bind::<Text, _>(t)
                .execute(&mut conn)
                .unwrap();
        }
        for _ in 0..2 {
            let rows: Vec<Row> = cached_sql("SELECT n, t FROM t WHERE n >= ? ORDER BY n")
                .bind::<BigInt, _>(2_i64)
                .load(&mut conn)
                .unwrap();
            let expected = [(2, "dois"), (3, "três")].map(|(n, t)| Row { n, t: t.into() });
            assert_eq!(rows, expected);
        }
        // `sql_query` is never kept: compiled again on every call.
        for _ in 0..2 {
            diesel::sql_query("DELETE FROM t WHERE n > 100")
                .execute(&mut conn)
                .unwrap();
        }
        assert_eq!(
            *cached.lock().unwrap(),
            [
                "INSERT INTO t (n, t) VALUES (?, ?)",
                "SELECT n, t FROM t WHERE n >= ? ORDER BY n"
            ]
        );
    }

    #[test]
    fn postgres_placeholders_are_taken_in_order_and_only_there() {
        let text = "SELECT $1::TEXT || '$' || $2, x->'$a' FROM t WHERE n = $3";
        let (before, rest) = next_placeholder(text, 1).unwrap();
        assert_eq!(before, "SELECT ");
        let (before, rest) = next_placeholder(rest, 2).unwrap();
        assert_eq!(before, "::TEXT || '$' || ");
        let (before, rest) = next_placeholder(rest, 3).unwrap();
        assert_eq!(before, ", x->'$a' FROM t WHERE n = ");
        assert_eq!(rest, "");
        assert!(
            next_placeholder("SELECT $2, $1", 1).is_err(),
            "out of order"
        );
        assert!(
            next_placeholder("SELECT 1", 1).is_err(),
            "more binds than placeholders"
        );
    }
}
