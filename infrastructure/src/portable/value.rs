//! The values statements bind, and how each backend stores those it has no type for.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// A value bound to a statement. `Value<'static>` owns what it holds, so rows can be built ahead
/// of the statement that writes them (`Tx::upsert`) and read back (`Row::values`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
    /// `boolean` on Postgres, 0 or 1 on SQLite.
    Bool(Option<bool>),
    /// `jsonb` on Postgres, its text on SQLite.
    Json(Cow<'a, serde_json::Value>),
    /// `timestamptz` on Postgres. On SQLite RFC 3339 text in UTC with six fraction digits and a
    /// `Z`: fixed width, so text order is time order. Compared with SQLite's own millisecond
    /// stamps (`strftime('%Y-%m-%dT%H:%M:%fZ')`) it orders as the millisecond text would: the
    /// first 23 characters decide, and an equal prefix is never "less" either way.
    Time(DateTime<Utc>),
    /// `uuid` on Postgres, hyphenated text on SQLite.
    Uuid(Uuid),
}

impl Value<'_> {
    /// The value as SQLite stores it: times and ids as text.
    pub(super) fn into_sqlite_storage(self) -> Self {
        match self {
            Value::Time(at) => Value::from(sqlite_time(at)),
            Value::Uuid(id) => Value::from(id.to_string()),
            other => other,
        }
    }

    /// The value as JSON, for reports.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(text) => text.as_deref().into(),
            Value::Int(int) => (*int).into(),
            Value::Bool(flag) => (*flag).into(),
            Value::Json(json) => json.clone().into_owned(),
            Value::Time(at) => timestamp(*at).into(),
            Value::Uuid(id) => id.to_string().into(),
        }
    }
}

/// The text SQLite stores a [`Value::Time`] as.
pub fn sqlite_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// How read models and the runtime's tables store an instant in a text column, on both backends:
/// RFC 3339 in UTC with a `Z`, with sub-second digits only when there are any. (Columns of a
/// time type take a [`Value::Time`] instead.)
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(value: &'a str) -> Self {
        Value::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(value: &'a String) -> Self {
        Value::Text(Some(Cow::Borrowed(value)))
    }
}

impl From<String> for Value<'_> {
    fn from(value: String) -> Self {
        Value::Text(Some(Cow::Owned(value)))
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Value::Text(value.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Value::from(value.as_deref())
    }
}

impl From<Option<String>> for Value<'_> {
    fn from(value: Option<String>) -> Self {
        Value::Text(value.map(Cow::Owned))
    }
}

impl From<i64> for Value<'_> {
    fn from(value: i64) -> Self {
        Value::Int(Some(value))
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(value: Option<i64>) -> Self {
        Value::Int(value)
    }
}

impl From<bool> for Value<'_> {
    fn from(value: bool) -> Self {
        Value::Bool(Some(value))
    }
}

impl From<Option<bool>> for Value<'_> {
    fn from(value: Option<bool>) -> Self {
        Value::Bool(value)
    }
}

impl<'a> From<&'a serde_json::Value> for Value<'a> {
    fn from(value: &'a serde_json::Value) -> Self {
        Value::Json(Cow::Borrowed(value))
    }
}

impl From<serde_json::Value> for Value<'_> {
    fn from(value: serde_json::Value) -> Self {
        Value::Json(Cow::Owned(value))
    }
}

impl From<DateTime<Utc>> for Value<'_> {
    fn from(value: DateTime<Utc>) -> Self {
        Value::Time(value)
    }
}

impl From<Uuid> for Value<'_> {
    fn from(value: Uuid) -> Self {
        Value::Uuid(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_times_have_a_fixed_width() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T12:00:00.5Z")
            .unwrap()
            .to_utc();
        assert_eq!(sqlite_time(at), "2026-03-01T12:00:00.500000Z");
    }

    #[test]
    fn stored_instants_have_fraction_digits_only_when_they_have_any() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(timestamp(at), "2026-03-01T12:00:00Z");
    }

    #[test]
    fn owned_values_outlive_what_they_were_made_from() {
        let row: Vec<Value<'static>> = {
            let id = String::from("acct-1");
            vec![id.clone().into(), Some(3_i64).into(), true.into()]
        };
        assert_eq!(row[0], Value::Text(Some("acct-1".into())));
        assert_eq!(row[2].to_json(), serde_json::json!(true));
    }
}
