//! Crossing the JS boundary: JS values to Rust types with errors that name the field, Rust
//! values to plain JS objects, and engine errors to JS `Error`s.

use js_sys::Reflect;
use serde::Serialize;
use serde::de::DeserializeOwned;
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
    let whole = if prefix.is_empty() { "(root)".to_owned() } else { prefix.to_owned() };
    if !value.is_object() {
        return Err(error(&whole, "must be an object".into()));
    }
    let deserializer = serde_wasm_bindgen::Deserializer::from(value);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = match (path.as_str(), prefix.is_empty()) {
            (".", _) => whole,
            (_, true) => path,
            (_, false) => format!("{prefix}.{path}"),
        };
        error(&field, e.into_inner().to_string())
    })
}

/// Plain JS objects and arrays (not Maps), the shape the TypeScript types describe.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(&LocalRankError::Internal(format!("could not convert a result to JS: {e}"))))
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
