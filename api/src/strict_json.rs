//! JSON request bodies as the API accepts them (SPEC 6): a document whose keys are unique in
//! every object, and whose strings (keys included) hold no control character but tab and newline,
//! so that no field reaches the domain or the store (Postgres jsonb refuses `\u0000`) with one.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a well-formed JSON document is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The same key twice in one object; its path (`lines[0].description`).
    DuplicateKey(String),
    /// A control character in the string at this path.
    ControlCharacter(String),
}

/// Parses `bytes` as one JSON document. `Err(Ok(refusal))` for a well-formed document that the
/// API refuses, `Err(Err(error))` for malformed JSON.
pub fn parse(bytes: &[u8]) -> Result<Value, Result<Refusal, serde_json::Error>> {
    let duplicate = Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = UniqueKeys(&duplicate)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|error| match duplicate.take() {
            Some(key) => Ok(Refusal::DuplicateKey(key)),
            None => Err(error),
        })?;
    match control_character_at(&value, &mut String::new()) {
        Some(path) => Err(Ok(Refusal::ControlCharacter(path))),
        None => Ok(value),
    }
}

/// Whether `text` holds a control character other than tab and newline.
pub fn has_control_character(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\t' && c != '\n')
}

/// The path of the first string (or key) in `value` with a control character.
fn control_character_at(value: &Value, path: &mut String) -> Option<String> {
    match value {
        Value::String(text) => has_control_character(text).then(|| path.clone()),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let mut inner = format!("{path}[{index}]");
            control_character_at(item, &mut inner)
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let mut inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if has_control_character(key) {
                return Some(inner);
            }
            control_character_at(item, &mut inner)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Builds a [`Value`] as serde_json does, but fails on a repeated key, where serde_json keeps the
/// last one, and notes that key in its cell.
struct UniqueKeys<'a>(&'a Cell<Option<String>>);

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(UniqueKeys(self.0))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(UniqueKeys(self.0))?;
            if map.contains_key(&key) {
                let error = A::Error::custom(format!("duplicate key `{key}`"));
                self.0.set(Some(key));
                return Err(error);
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        assert_eq!(
            parse(br#"{"a": 1, "a": 2}"#).unwrap_err().unwrap(),
            Refusal::DuplicateKey("a".into())
        );
        assert_eq!(
            parse(br#"{"lines": [{"d": "x", "d": "y"}]}"#)
                .unwrap_err()
                .unwrap(),
            Refusal::DuplicateKey("d".into())
        );
        assert!(parse(br#"{"a": {"b": 1}, "b": {"b": 2}}"#).is_ok());
    }

    #[test]
    fn control_characters_are_refused_but_tab_and_newline() {
        for bad in ["\\u0000", "\\u0007", "\\r", "\\u007f", "\\u0085", "\\u001b"] {
            let body = format!(r#"{{"lines": [{{"description": "a{bad}b"}}]}}"#);
            assert_eq!(
                parse(body.as_bytes()).unwrap_err().unwrap(),
                Refusal::ControlCharacter("lines[0].description".into()),
                "{bad}"
            );
        }
        assert_eq!(
            parse(br#"{"k\u0000": 1}"#).unwrap_err().unwrap(),
            Refusal::ControlCharacter("k\0".into())
        );
        assert!(parse(br#"{"note": "a\tb\nc", "n": 1.5, "m": [true, null]}"#).is_ok());
    }

    #[test]
    fn malformed_json_is_an_error_not_a_refusal() {
        for bad in [&b"{"[..], b"{\"a\": 1} x", b"nul"] {
            assert!(parse(bad).unwrap_err().is_err());
        }
    }
}
