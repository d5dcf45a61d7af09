//! The lift report's sealing as a second WebAssembly module (`pkg/localrank_report_bg.wasm`).
//!
//! Why a module of its own: Prio3, HPKE, AES-GCM and X25519 come to ~50 KB gzip, more than a
//! feature most pages never use should add to every page's engine. The engine
//! (`src/report.rs`) checks the storefront's DAP settings at `open()` and knows when a day
//! is due; `js/index.js` imports this module only then — at most once a day, on pages with
//! an experiment — and hands [`seal_day`] to the engine, which calls it and marks the day
//! reported. Nothing here stores anything or makes a request.

use wasm_bindgen::prelude::*;

/// Seals one finished day (its histogram `bucket`) for the task (`task_id`: its 32 bytes): the
/// DAP-09 report body
/// (`localrank_report::seal_encoded`). `time` is the day's start in seconds since 1970.
#[wasm_bindgen(js_name = sealDay)]
pub fn seal_day(task_id: &[u8], time_precision: f64, leader_config: &[u8], helper_config: &[u8], time: f64, bucket: u32) -> Result<Vec<u8>, JsError> {
    let seconds = |value: f64, what: &str| {
        // A JS number, checked rather than cast: `as` would turn NaN or -1 into 0 silently.
        // (The message leaves the value out: formatting an f64 would add ~18 KB to this module.)
        if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_992.0 {
            Ok(value as u64)
        } else {
            Err(JsError::new(&format!("{what} must be a whole number of seconds ≥ 0")))
        }
    };
    let time_precision_s = seconds(time_precision, "the time precision")?;
    let time_s = seconds(time, "the report time")?;
    localrank_report::seal_encoded(task_id, time_precision_s, leader_config, helper_config, time_s, bucket).map_err(|e| JsError::new(&e.to_string()))
}
