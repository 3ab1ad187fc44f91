//! One SQL type for timestamps on both backends, so a single `schema.rs` serves both:
//! `timestamptz` on PostgreSQL, and on SQLite TEXT in one fixed-width UTC format
//! (`2026-11-29T14:30:00.123456+00:00`) so that ordering the text orders the times.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::deserialize::FromSqlRow;
use diesel::deserialize::{self, FromSql};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::query_builder::QueryId;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::SqlType;
use diesel::sql_types::Timestamptz;
use diesel::sqlite::{Sqlite, SqliteValue};

/// A point in time, UTC (see the module documentation for its storage).
#[derive(Debug, Clone, Copy, SqlType, QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct UtcTimestamp;

/// The Rust side of [`UtcTimestamp`]. Microsecond precision, like PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = UtcTimestamp)]
pub struct Timestamp(pub DateTime<Utc>);

/// The SQLite text form: fixed width, so text order is time order.
pub(crate) const SQLITE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f+00:00";

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl Timestamp {
    /// The SQLite text of this instant.
    pub(crate) fn sqlite_text(self) -> String {
        self.0.format(SQLITE_FORMAT).to_string()
    }
}

impl ToSql<UtcTimestamp, Pg> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&self.0, &mut out.reborrow())
    }
}

impl FromSql<UtcTimestamp, Pg> for Timestamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(value).map(Self)
    }
}

impl ToSql<UtcTimestamp, Sqlite> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.sqlite_text());
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTimestamp, Sqlite> for Timestamp {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = value.read_text();
        if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
            return Ok(Self(parsed.with_timezone(&Utc)));
        }
        // Tolerates SQLite's own `datetime('now')` form in rows written by hand.
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .map(|naive| Self(naive.and_utc()))
            .map_err(|error| format!("not a timestamp: {text:?} ({error})").into())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn sqlite_text_is_fixed_width_and_sorts_like_time() {
        let early = Timestamp(
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
                .single()
                .unwrap_or_default(),
        );
        let late = Timestamp(early.0 + chrono::Duration::microseconds(1));
        assert_eq!(early.sqlite_text(), "2026-01-02T03:04:05.000000+00:00");
        assert_eq!(late.sqlite_text(), "2026-01-02T03:04:05.000001+00:00");
        assert!(early.sqlite_text() < late.sqlite_text());
    }
}
