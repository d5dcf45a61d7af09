//! Which field of a JSON text a parse error is about.
//!
//! The web layer reads every JS input (options, events) as `JSON.stringify` text with
//! serde_json, which reports *where* it stopped (line, column), not *which field* it was
//! reading. A storefront developer needs the field ("items[3].score"), so [`error_field`]
//! scans the text up to the error once and names the value there. (serde_path_to_error did
//! this by wrapping every visitor: ~11 KB of gzipped wasm for the same answer.)

/// The field and the message of a serde_json error on `text`: `line`/`column` and the
/// message as `serde_json::Error` gives them ("invalid type: string \"x\", expected f32 at
/// line 1 column 17"). The field is "" for the whole value; the message loses its position.
/// A missing field is named itself (`dap.taskId`), not its object.
pub fn error_field(text: &str, line: usize, column: usize, message: &str) -> (String, String) {
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m).to_owned();
    let mut field = path_at(text, offset_of(text, line, column));
    if let Some(missing) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(missing);
    }
    (field, message)
}

/// serde_json counts lines from 1 and columns in bytes from the line's start.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>();
    (line_start + column).min(text.len())
}

enum Frame {
    /// The key being read (None before the first), and whether a string now is a key.
    Object { key: Option<String>, expect_key: bool },
    Array { index: usize },
}

/// The path (`items[3].score`, "" for the root) of the value that ends at, or starts at,
/// byte `offset` of a well-formed JSON text: the keys and indices open at that point.
pub fn path_at(text: &str, offset: usize) -> String {
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'{' => stack.push(Frame::Object { key: None, expect_key: true }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut()
                    && *expect_key
                {
                    *key = Some(unescape(&text[start..i.min(bytes.len())]));
                    *expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

/// A key's text without its two common escapes (keys are plain identifiers in practice).
fn unescape(raw: &str) -> String {
    if raw.contains('\\') { raw.replace("\\\"", "\"").replace("\\\\", "\\") } else { raw.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: String,
        score: Option<f32>,
        vector: Option<Vec<f32>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Options {
        items: Option<Vec<Item>>,
        blend: Option<Blend>,
        max_events: Option<u32>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Blend {
        intent: f32,
        server: Option<f32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        View,
    }

    /// What serde_json says about `text`, turned into (field, message).
    fn field_of(text: &str) -> (String, String) {
        let e = serde_json::from_str::<Options>(text).expect_err(text);
        error_field(text, e.line(), e.column(), &e.to_string())
    }

    #[test]
    fn names_the_field_of_each_kind_of_error() {
        let cases = [
            (r#"{"items":[{"id":"a"},{"id":"b","score":"x"}]}"#, "items[1].score", "invalid type: string \"x\", expected f32"),
            (r#"{"items":[{"id":"a","vector":[1,2,"NaN",4]}]}"#, "items[0].vector[2]", "invalid type: string \"NaN\", expected f32"),
            (r#"{"items":[{"id":"a"},{"score":1}]}"#, "items[1].id", "missing field `id`"),
            (r#"{"blend":{"server":1}}"#, "blend.intent", "missing field `intent`"),
            (r#"{"blend":"high"}"#, "blend", "invalid type: string"),
            (r#"{"blend":[1]}"#, "blend", "invalid length 1"),
            (r#"{"maxEvents":-3}"#, "maxEvents", ""),
            (r#"{"maxEvents":2.5}"#, "maxEvents", ""),
            (r#"{"kind":"teleport"}"#, "kind", "unknown variant `teleport`, expected `view`"),
            (r#"{"items":{"id":"a"}}"#, "items", ""),
            (r#"{"blend":{"intent":true}}"#, "blend.intent", ""),
            (r#"{"blend":{"intent":null}}"#, "blend.intent", ""),
            (r#"{"items":[{"id":"a","vector":{"0":1}}]}"#, "items[0].vector", ""),
        ];
        for (text, field, message) in cases {
            let (f, m) = field_of(text);
            assert_eq!(f, field, "{text}: {m}");
            assert!(m.starts_with(message) && !m.contains(" at line "), "{text}: {m}");
        }
    }

    #[test]
    fn the_root_is_the_empty_path() {
        let text = r#""just a string""#;
        let e = serde_json::from_str::<Options>(text).expect_err("a string is not options");
        assert_eq!(error_field(text, e.line(), e.column(), &e.to_string()).0, "");
        let e = serde_json::from_str::<Blend>("{}").expect_err("intent is required");
        assert_eq!(error_field("{}", e.line(), e.column(), &e.to_string()), ("intent".to_owned(), "missing field `intent`".to_owned()));
    }

    #[test]
    fn keys_with_escapes_commas_and_brackets_inside_strings_do_not_confuse_the_scan() {
        let text = r#"{"a\"b":{"x":"[,{"},"items":[{"id":"q\",]"},{"id":"r","score":"bad"}]}"#;
        let e = serde_json::from_str::<Options>(text).expect_err("bad score");
        assert_eq!(error_field(text, e.line(), e.column(), &e.to_string()).0, "items[1].score");
        assert_eq!(path_at(r#"{"a\"b":1}"#, 8), "a\"b");
    }

    #[test]
    fn multi_line_text_counts_lines() {
        let text = "{\n  \"blend\": {\n    \"intent\": \"high\"\n  }\n}";
        let e = serde_json::from_str::<Options>(text).expect_err("bad intent");
        assert_eq!(error_field(text, e.line(), e.column(), &e.to_string()).0, "blend.intent");
    }
}
