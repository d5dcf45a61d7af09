//! localrank: private, on-device personalization for a storefront's homepage — the browser
//! engine the npm package wraps.
//!
//! The engine itself is [`localrank_core`] (plain Rust: history rules, pools, the model, the
//! ranking); this crate only adapts it to the browser, and its modules are the platform edges:
//! - [`idb`] — the IndexedDB history store (a [`history::HistoryStore`]) and model cache;
//! - [`gpu`] — WebGPU adapter detection and the wgpu runtime (a [`gpu::GpuDevice`]);
//! - [`report`] — the lift experiment's daily DAP report (`takeReport()`), sealed in the wasm;
//! - [`web`] — the wasm-bindgen API: `open`, `record`, `rank`, `loadModel`, the worker glue.
//!
//! Natively (for `cargo test --workspace`) only the re-exported core compiles here.

pub use localrank_core::{error, format, history, measure, model, pool, rank};
pub use localrank_core::{
    EventInput, EventKind, History, HistoryExport, HistoryStore, LocalRankError, MemoryStore, OpenOptions,
    RetentionPolicy, StoredEvent, VERSION, Warning,
};

pub mod gpu;
pub mod report;

#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// The engine's allocator in the browser: talc instead of std's dlmalloc (smaller and faster on
/// wasm32, docs/performance.md). Only this crate sets it: the on-demand modules keep std's.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(test)]
mod tests {
    /// The quoted names in the TypeScript type alias `name` of a `typescript_custom_section`.
    fn ts_union<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
        let start = source.find(&format!("export type {name} = ")).unwrap_or_else(|| panic!("no `{name}` in the TS sections"));
        let line = source[start..].lines().next().unwrap_or_default();
        line.split('"').skip(1).step_by(2).collect()
    }

    /// `LocalRankError.code`'s declared type must cover every code a promise can reject with:
    /// the core's two error enums and the codes the web layer raises itself (`error_with`).
    #[test]
    fn the_typescript_error_codes_cover_every_code_the_engine_throws() {
        let (web, model) = (include_str!("web/mod.rs"), include_str!("web/model.rs"));
        let declared: Vec<&str> = [ts_union(web, "LocalRankErrorCode"), ts_union(model, "ModelErrorCode")].concat();
        assert!(web.contains("code: LocalRankErrorCode;"), "LocalRankError.code is declared as LocalRankErrorCode");
        assert!(ts_union(web, "LocalRankErrorCode").len() > 1 && web.contains("| ModelErrorCode;"), "LocalRankErrorCode includes ModelErrorCode");
        let raised = model.split("error_with(\"").skip(1).filter_map(|rest| rest.split('"').next());
        let thrown: Vec<&str> = crate::LocalRankError::CODES.into_iter().chain(crate::model::ModelError::CODES).chain(raised).collect();
        for code in thrown {
            assert!(declared.contains(&code), "`{code}` is missing from the TypeScript error codes");
        }
    }
}
