//! The storefront's DAP task settings, `open({ experiment: { dap } })`, kept as given.
//!
//! They are read as loosely typed values on purpose: the engine crate (which holds the report
//! code, `localrank-report`) checks them at `open()`, and a mistake in them must not stop the
//! page. It becomes an `InvalidOptions` error naming the field, carried as a warning and
//! returned by `takeReport()`, while ranking and the experiment's tally carry on. A strictly
//! typed struct would make `open()` itself reject a wrong type.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// One JS value as the engine received it.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Text(String),
    /// A `Uint8Array` (or an array of whole numbers 0–255).
    Bytes(Vec<u8>),
    Number(f64),
    /// An object's fields, in the order given.
    Object(Vec<(String, OptionValue)>),
    /// Anything else, described for the error message ("a boolean", "null", "an array").
    Other(&'static str),
}

impl OptionValue {
    /// The field `key` of an object; `None` for a missing field or a non-object.
    pub fn get(&self, key: &str) -> Option<&OptionValue> {
        match self {
            OptionValue::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            OptionValue::Text(_) => "a string",
            OptionValue::Bytes(_) => "bytes",
            OptionValue::Number(_) => "a number",
            OptionValue::Object(_) => "an object",
            OptionValue::Other(kind) => kind,
        }
    }
}

impl<'de> Deserialize<'de> for OptionValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = OptionValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<OptionValue, E> {
        Ok(OptionValue::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<OptionValue, E> {
        Ok(OptionValue::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<OptionValue, E> {
        Ok(OptionValue::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<OptionValue, E> {
        Ok(OptionValue::Number(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<OptionValue, E> {
        Ok(OptionValue::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<OptionValue, E> {
        Ok(OptionValue::Text(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<OptionValue, E> {
        Ok(OptionValue::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<OptionValue, E> {
        Ok(OptionValue::Bytes(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<OptionValue, E> {
        Ok(OptionValue::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<OptionValue, E> {
        Ok(OptionValue::Other("null"))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<OptionValue, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OptionValue, A::Error> {
        let mut bytes = Vec::new();
        let mut all_bytes = true;
        while let Some(item) = seq.next_element::<OptionValue>()? {
            match item {
                OptionValue::Number(n) if all_bytes && n.fract() == 0.0 && (0.0..=255.0).contains(&n) => bytes.push(n as u8),
                _ => all_bytes = false,
            }
        }
        Ok(if all_bytes { OptionValue::Bytes(bytes) } else { OptionValue::Other("an array that is not bytes") })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OptionValue, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, OptionValue>()? {
            fields.push((key, value));
        }
        Ok(OptionValue::Object(fields))
    }
}

impl Serialize for OptionValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OptionValue::Text(s) => serializer.serialize_str(s),
            OptionValue::Bytes(b) => serializer.serialize_bytes(b),
            OptionValue::Number(n) => serializer.serialize_f64(*n),
            OptionValue::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            OptionValue::Other(_) => serializer.serialize_unit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_json_value_is_kept_and_described() {
        let v: OptionValue = serde_json::from_str(r#"{"taskId":"abc","timePrecision":3600,"leaderConfig":[0,41,255],"helperConfig":[1,2,300],"x":true,"y":null}"#).unwrap();
        assert_eq!(v.get("taskId"), Some(&OptionValue::Text("abc".into())));
        assert_eq!(v.get("timePrecision"), Some(&OptionValue::Number(3600.0)));
        assert_eq!(v.get("leaderConfig"), Some(&OptionValue::Bytes(vec![0, 41, 255])));
        assert_eq!(v.get("helperConfig").map(OptionValue::describe), Some("an array that is not bytes"));
        assert_eq!(v.get("x").map(OptionValue::describe), Some("a boolean"));
        assert_eq!(v.get("y").map(OptionValue::describe), Some("null"));
        assert_eq!(v.get("missing"), None);
        assert_eq!(OptionValue::Text("s".into()).get("taskId"), None);
    }
}
