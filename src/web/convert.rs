//! Crossing the JS boundary: JS values to Rust types with errors that name the field, Rust
//! values to plain JS objects, and engine errors to JS `Error`s.

use js_sys::{Array, ArrayBuffer, JSON, Reflect, Uint8Array};
use localrank_core::json_path::error_field;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::LocalRankError;

/// Reads a JS value as `T`. A type error names the path of the offending field
/// ("vector[3]: invalid type: string, expected f32").
pub fn from_js<T: DeserializeOwned>(
    value: JsValue,
    error: fn(&str, String) -> LocalRankError,
) -> Result<T, LocalRankError> {
    from_js_at(value, "", error)
}

/// [`from_js`] for a value nested at `prefix` (e.g. "items[3]"), so errors name the full path.
pub fn from_js_at<T: DeserializeOwned>(
    value: JsValue,
    prefix: &str,
    error: fn(&str, String) -> LocalRankError,
) -> Result<T, LocalRankError> {
    // Only the parse is generic; reading the text and naming the field are shared by every T.
    let text = input_text(&value, prefix, error)?;
    serde_json::from_str(&text).map_err(|e| parse_error(&text, &e, prefix, error))
}

fn whole(prefix: &str) -> String {
    if prefix.is_empty() { "(root)".to_owned() } else { prefix.to_owned() }
}

/// The JSON text of an input object (see [`input_json`]).
fn input_text(value: &JsValue, prefix: &str, error: fn(&str, String) -> LocalRankError) -> Result<String, LocalRankError> {
    // An array at the root would fill a struct's fields by position (serde accepts both).
    if !value.is_object() || Array::is_array(value) {
        return Err(error(&whole(prefix), "must be an object".into()));
    }
    input_json(value).map_err(|why| error(&whole(prefix), why))
}

/// A serde_json error in `text`, as an error naming the field under `prefix`.
fn parse_error(text: &str, e: &serde_json::Error, prefix: &str, error: fn(&str, String) -> LocalRankError) -> LocalRankError {
    let (path, message) = error_field(text, e.line(), e.column(), &e.to_string());
    let field = match (path.is_empty(), prefix.is_empty()) {
        (true, _) => whole(prefix),
        (_, true) => path,
        (_, false) => format!("{prefix}.{path}"),
    };
    error(&field, message)
}

/// Every JS input is read as its `JSON.stringify` text (its own enumerable properties, as for
/// any JSON API; getters on a class's prototype are not seen) with serde_json, the parser the engine
/// needs anyway (model.json, pools as JSON text): one deserializer in the wasm instead of
/// three. The replacer keeps what JSON would lose visible to the types' checks: a NaN or
/// ±Infinity becomes the string "NaN"/"Infinity" (an error naming the field, not a silent
/// `null`), a BigInt its digits and "n", and typed arrays and ArrayBuffers plain arrays of numbers.
pub fn input_json(value: &JsValue) -> Result<String, String> {
    thread_local! {
        static REPLACER: Closure<dyn FnMut(JsValue, JsValue) -> JsValue> = Closure::new(|_key: JsValue, value: JsValue| keep_visible(value));
    }
    REPLACER
        .with(|replacer| JSON::stringify_with_replacer(value, replacer.as_ref()))
        .map_err(|e| format!("cannot be read as JSON ({})", e.as_string().or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message()))).unwrap_or_default()))?
        .as_string()
        .ok_or_else(|| "cannot be read as JSON".to_owned())
}

fn keep_visible(value: JsValue) -> JsValue {
    if let Some(x) = value.as_f64() {
        return if x.is_finite() { value } else { JsValue::from_str(if x.is_nan() { "NaN" } else if x > 0.0 { "Infinity" } else { "-Infinity" }) };
    }
    if let Some(big) = value.dyn_ref::<js_sys::BigInt>() {
        // "5n": a string where a number was expected, shown as the page wrote it.
        let digits = big.to_string(10).map(String::from).unwrap_or_default();
        return JsValue::from_str(&format!("{digits}n"));
    }
    if ArrayBuffer::is_view(&value) && !value.is_instance_of::<js_sys::DataView>() {
        return Array::from(&value).into();
    }
    if value.is_instance_of::<ArrayBuffer>() {
        return Array::from(&Uint8Array::new(&value)).into();
    }
    value
}

/// A small options object read field by field (`loadModel`'s, `benchmarkModel`'s): the checks
/// a serde derive would make — an object, only the named fields (own enumerable ones, as JSON
/// sees), each of its type — with `InvalidOptions` errors naming the field, for less wasm than
/// a derive and a JSON round trip per options type.
pub struct OptionsReader(JsValue);

impl OptionsReader {
    /// `undefined`/`null` read as an empty object.
    pub fn new(value: JsValue, fields: &[&str]) -> Result<OptionsReader, LocalRankError> {
        if value.is_undefined() || value.is_null() {
            return Ok(OptionsReader(JsValue::UNDEFINED));
        }
        if !value.is_object() || Array::is_array(&value) {
            return Err(LocalRankError::invalid_option("(root)", "must be an object"));
        }
        for key in js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if !fields.contains(&key.as_str()) {
                return Err(LocalRankError::invalid_option(&key, format!("is not an option here; expected one of {fields:?}")));
            }
        }
        Ok(OptionsReader(value))
    }

    fn get(&self, key: &str) -> Option<JsValue> {
        if self.0.is_undefined() {
            return None;
        }
        Reflect::get(&self.0, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn read<T>(&self, key: &str, read: impl FnOnce(&JsValue) -> Option<T>, expected: &str) -> Result<Option<T>, LocalRankError> {
        self.get(key).map(|v| read(&v).ok_or_else(|| LocalRankError::invalid_option(key, format!("must be {expected}")))).transpose()
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, LocalRankError> {
        self.read(key, JsValue::as_bool, "true or false")
    }

    /// A whole number from 0 to 2³² − 1.
    pub fn count(&self, key: &str) -> Result<Option<usize>, LocalRankError> {
        self.read(key, |v| v.as_f64().filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n)).map(|n| n as usize), "a whole number from 0")
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, LocalRankError> {
        self.read(key, JsValue::as_string, "a string")
    }

    /// One of `names` (its index).
    pub fn choice(&self, key: &str, names: &[&str]) -> Result<Option<usize>, LocalRankError> {
        let expected = format!("one of {names:?}");
        self.read(key, |v| v.as_string().and_then(|s| names.iter().position(|n| *n == s)), &expected)
    }
}

/// Plain JS objects and arrays (not Maps), the shape the TypeScript types describe: the
/// value's JSON, parsed by the browser.
pub fn to_plain_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, String> {
    parse_own_json(serde_json::to_string(value).map_err(|e| e.to_string())?)
}

/// `JSON.parse` of text the engine wrote (shared by every [`to_plain_js`]).
fn parse_own_json(text: String) -> Result<JsValue, String> {
    JSON::parse(&text).map_err(|_| "the browser could not parse the engine's JSON".to_owned())
}

/// [`to_plain_js`] for results handed to the page.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    to_plain_js(value).map_err(|e| js_error(&LocalRankError::Internal(format!("could not convert a result to JS: {e}"))))
}

/// A JS `Error` with `name` "LocalRankError", `code` and, for input errors, `field`.
pub fn js_error(error: &LocalRankError) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("LocalRankError");
    let _ = Reflect::set(&js, &"code".into(), &error.code().into());
    if let Some(field) = error.field() {
        let _ = Reflect::set(&js, &"field".into(), &field.into());
    }
    js.into()
}

/// High-resolution time in ms: `performance.now()` in windows and workers alike (looked up on
/// the global object, because the engine usually runs in a worker, where there is no
/// `window`), or `Date.now()` if it is missing.
pub fn now_ms() -> f64 {
    let performance = Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).unwrap_or(JsValue::UNDEFINED);
    Reflect::get(&performance, &JsValue::from_str("now"))
        .ok()
        .and_then(|now| now.dyn_into::<js_sys::Function>().ok())
        .and_then(|now| now.call0(&performance).ok())
        .and_then(|t| t.as_f64())
        .unwrap_or_else(js_sys::Date::now)
}

/// A uniform 32-bit draw from `crypto.getRandomValues` (windows and workers alike), or from
/// `Math.random()` where the Web Crypto API is missing: an experiment's coin, drawn once.
pub fn random_u32() -> u32 {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).unwrap_or(JsValue::UNDEFINED);
    let words = js_sys::Uint32Array::new_with_length(1);
    let drawn = Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&crypto, &words).ok())
        .is_some();
    if drawn { words.get_index(0) } else { (js_sys::Math::random() * 4_294_967_296.0) as u32 }
}
