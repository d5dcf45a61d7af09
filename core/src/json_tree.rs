//! JSON as a tree of values, for the readers that take their fields by name: the model files
//! (model.json: [`crate::model::ModelConfig::from_json`]; the safetensors header), the
//! browser layer's IndexedDB records, and the storefront's DAP settings (kept as given and
//! checked by the report code, [`crate::measure::ExperimentConfig::dap`]).
//!
//! Why not `#[derive(Deserialize)]`: serde's derive gives every struct its own copy of
//! serde_json's object parsing, and the model files' seven structs cost the wasm ~4 KB gzip that
//! way. Here serde_json parses once into [`Node`] (one visitor), and the readers take their
//! fields from the tree with errors that name them (`blend.intent`, `repeat_scorer.mean`).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::model::ModelError;

/// A field that is missing or of the wrong kind: `field` is its path (`blend.intent`), `reason`
/// what is wrong with it. Each reader turns it into its own error (model.json's
/// [`ModelError::Config`], a stored record's corrupt-record text).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.reason)
    }
}

impl From<FieldError> for ModelError {
    fn from(e: FieldError) -> ModelError {
        ModelError::config(&e.field, e.reason)
    }
}

/// A JSON value. Objects keep their entries in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Object(entries))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(n) => serializer.serialize_f64(*n),
            Node::Text(s) => serializer.serialize_str(s),
            Node::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl Node {
    /// What the value is, for error messages ("a string", "an array that is not bytes").
    pub fn describe(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::Text(_) => "a string",
            Node::List(_) if self.as_bytes().is_some() => "bytes",
            Node::List(_) => "an array that is not bytes",
            Node::Object(_) => "an object",
        }
    }

    /// A list of whole numbers 0–255 as bytes (a `Uint8Array` arrives as one).
    pub fn as_bytes(&self) -> Option<Vec<u8>> {
        self.as_list()?.iter().map(|n| n.as_f64().filter(|n| n.fract() == 0.0 && (0.0..=255.0).contains(n)).map(|n| n as u8)).collect()
    }

    /// An object's field (`None` when absent, `null`, or `self` is not an object).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| **v != Node::Null),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Node]> {
        match self {
            Node::List(items) => Some(items),
            _ => None,
        }
    }
}

/// Parses `json` into a tree. Not inlined: its callers share one copy of the parse.
#[inline(never)]
pub fn parse(json: &str) -> Result<Node, serde_json::Error> {
    serde_json::from_str(json)
}

/// An object's fields, read by name. `path` ("", "blend.", …) prefixes the names in errors.
/// Fields the reader does not ask for are ignored, as model.json's extra fields (dataset,
/// metrics) must be; a `null` reads as absent.
pub struct Fields<'a> {
    entries: &'a [(String, Node)],
    path: String,
}

impl<'a> Fields<'a> {
    /// The fields of a whole document or record, which must be an object: errors name its
    /// fields alone (`dim`), and `what` (`model.json`) when it is not an object.
    pub fn root(node: &'a Node, what: &str) -> Result<Fields<'a>, FieldError> {
        Fields::at(node, what, String::new())
    }

    fn at(node: &'a Node, name: &str, path: String) -> Result<Fields<'a>, FieldError> {
        match node {
            Node::Object(entries) => Ok(Fields { entries, path }),
            _ => Err(FieldError { field: name.to_owned(), reason: "must be a JSON object".into() }),
        }
    }

    fn error(&self, key: &str, reason: impl Into<String>) -> FieldError {
        FieldError { field: format!("{}{key}", self.path), reason: reason.into() }
    }

    /// The value of `key`, `None` when it is absent or `null`.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| **v != Node::Null)
    }

    fn required(&self, key: &str) -> Result<&'a Node, FieldError> {
        self.get(key).ok_or_else(|| self.error(key, "is missing"))
    }

    /// `key`'s string, `None` when it is absent.
    pub fn optional_text(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        self.get(key).map(|_| self.text(key)).transpose()
    }

    pub fn text(&self, key: &str) -> Result<&'a str, FieldError> {
        match self.required(key)? {
            Node::Text(s) => Ok(s),
            _ => Err(self.error(key, "must be a string")),
        }
    }

    fn number_of(&self, key: &str, node: &Node) -> Result<f64, FieldError> {
        match node {
            Node::Number(n) => Ok(*n),
            _ => Err(self.error(key, "must be a number")),
        }
    }

    pub fn number(&self, key: &str) -> Result<f64, FieldError> {
        self.number_of(key, self.required(key)?)
    }

    /// `key`'s number, or `default` when it is absent.
    pub fn number_or(&self, key: &str, default: f64) -> Result<f64, FieldError> {
        self.get(key).map_or(Ok(default), |node| self.number_of(key, node))
    }

    /// A whole number from 0 to `max`.
    pub fn whole(&self, key: &str, max: u64) -> Result<u64, FieldError> {
        let n = self.number(key)?;
        if n.fract() == 0.0 && (0.0..=max as f64).contains(&n) {
            Ok(n as u64)
        } else {
            Err(self.error(key, format!("must be a whole number from 0 to {max}")))
        }
    }

    /// [`Fields::whole`], or `default` when `key` is absent.
    pub fn whole_or(&self, key: &str, max: u64, default: u64) -> Result<u64, FieldError> {
        if self.get(key).is_some() { self.whole(key, max) } else { Ok(default) }
    }

    fn list(&self, key: &str) -> Result<&'a [Node], FieldError> {
        match self.required(key)? {
            Node::List(items) => Ok(items),
            _ => Err(self.error(key, "must be a list")),
        }
    }

    /// A list of numbers, as f32 (the engine's precision for every learned parameter).
    pub fn numbers(&self, key: &str) -> Result<Vec<f32>, FieldError> {
        self.list(key)?.iter().map(|node| self.number_of(key, node).map(|n| n as f32)).collect()
    }

    /// A list of whole numbers (negative ones too).
    pub fn integers(&self, key: &str) -> Result<Vec<i64>, FieldError> {
        self.list(key)?
            .iter()
            .map(|node| match node {
                Node::Number(n) if n.fract() == 0.0 && n.abs() <= (1u64 << 53) as f64 => Ok(*n as i64),
                _ => Err(self.error(key, "must be a list of whole numbers")),
            })
            .collect()
    }

    pub fn texts(&self, key: &str) -> Result<Vec<String>, FieldError> {
        self.list(key)?
            .iter()
            .map(|node| match node {
                Node::Text(s) => Ok(s.clone()),
                _ => Err(self.error(key, "must be a list of strings")),
            })
            .collect()
    }

    /// The object at `key`, `None` when it is absent.
    pub fn object(&self, key: &str) -> Result<Option<Fields<'a>>, FieldError> {
        self.get(key)
            .map(|node| {
                let name = format!("{}{key}", self.path);
                let path = format!("{name}.");
                Fields::at(node, &name, path)
            })
            .transpose()
    }

    /// `key`'s string as one of `names` (its index), for the format's enums.
    pub fn choice(&self, key: &str, names: &[&str]) -> Result<usize, FieldError> {
        let value = self.text(key)?;
        names.iter().position(|n| *n == value).ok_or_else(|| self.error(key, format!("is {value:?}; expected one of {names:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_holds_every_json_value_in_file_order() {
        let tree = parse(r#"{"b":[1,-2.5,"x",true,null],"a":{"c":{}}}"#).expect("valid");
        let Node::Object(entries) = &tree else { panic!("{tree:?}") };
        assert_eq!(entries[0].0, "b");
        assert_eq!(entries[0].1, Node::List(vec![Node::Number(1.0), Node::Number(-2.5), Node::Text("x".into()), Node::Bool(true), Node::Null]));
        assert_eq!(entries[1].1, Node::Object(vec![("c".into(), Node::Object(vec![]))]));
        assert!(parse("{\"a\":").is_err());
    }

    #[test]
    fn values_are_described_and_bytes_read_for_the_dap_settings() {
        let v = parse(r#"{"taskId":"abc","timePrecision":3600,"leaderConfig":[0,41,255],"helperConfig":[1,2,300],"x":true,"y":null,"e":[]}"#).unwrap();
        assert_eq!(v.get("taskId").and_then(Node::as_str), Some("abc"));
        assert_eq!(v.get("leaderConfig").and_then(Node::as_bytes), Some(vec![0, 41, 255]));
        assert_eq!(v.get("helperConfig").map(Node::describe), Some("an array that is not bytes"));
        assert_eq!(v.get("helperConfig").and_then(Node::as_bytes), None);
        assert_eq!(v.get("e").and_then(Node::as_bytes), Some(vec![]));
        assert_eq!(v.get("x").map(Node::describe), Some("a boolean"));
        assert_eq!(v.get("y"), None, "null reads as absent");
        assert_eq!(Node::Text("s".into()).get("taskId"), None);
        // Written back as the same JSON.
        assert_eq!(parse(&serde_json::to_string(&v).unwrap()).unwrap(), v);
    }

    #[test]
    fn fields_name_the_offending_field_with_its_path() {
        let tree = parse(r#"{"n":3,"f":1.5,"s":"x","o":{"k":"v","l":[1,2]},"z":null}"#).expect("valid");
        let root = Fields::root(&tree, "model.json").expect("object");
        let field = |e: FieldError| format!("{}: {}", e.field, e.reason);
        assert_eq!(root.whole("n", 10).unwrap(), 3);
        assert_eq!(field(root.whole("f", 10).unwrap_err()), "f: must be a whole number from 0 to 10");
        assert_eq!(field(root.whole("n", 2).unwrap_err()), "n: must be a whole number from 0 to 2");
        assert_eq!(field(root.number("missing").unwrap_err()), "missing: is missing");
        assert_eq!(field(root.number("z").unwrap_err()), "z: is missing", "null reads as absent");
        assert_eq!(root.number_or("z", 7.0).unwrap(), 7.0);
        assert_eq!(field(root.number("s").unwrap_err()), "s: must be a number");
        let o = root.object("o").unwrap().expect("present");
        assert_eq!(o.numbers("l").unwrap(), vec![1.0, 2.0]);
        assert_eq!(field(o.numbers("k").unwrap_err()), "o.k: must be a list");
        assert_eq!(field(o.choice("k", &["a", "b"]).unwrap_err()), "o.k: is \"v\"; expected one of [\"a\", \"b\"]");
        assert!(root.object("z").unwrap().is_none());
        assert_eq!(field(root.object("s").err().expect("not an object")), "s: must be a JSON object");
        assert_eq!(root.optional_text("s").unwrap(), Some("x"));
        assert_eq!(root.optional_text("z").unwrap(), None);
        assert_eq!(field(root.optional_text("n").unwrap_err()), "n: must be a string");
        assert_eq!(field(Fields::root(&Node::Number(1.0), "model.json").err().expect("not an object")), "model.json: must be a JSON object");
        // model.json's errors are ModelError::Config with the same field and reason.
        let e: ModelError = root.number("s").unwrap_err().into();
        assert!(matches!(&e, ModelError::Config { field, reason } if field == "s" && reason == "must be a number"), "{e:?}");
    }
}
