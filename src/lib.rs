//! localrank: private, on-device personalization for a storefront's homepage — the browser
//! engine the npm package wraps.
//!
//! The engine itself is [`localrank_core`] (plain Rust: history rules, pools, the model, the
//! ranking); this crate only adapts it to the browser, and its modules are the platform edges:
//! - [`idb`] — the IndexedDB history store (a [`history::HistoryStore`]) and model cache;
//! - [`gpu`] — WebGPU adapter detection and the wgpu runtime (a [`gpu::GpuDevice`]);
//! - [`web`] — the wasm-bindgen API: `open`, `record`, `rank`, `loadModel`, the worker glue.
//!
//! Natively (for `cargo test --workspace`) only the re-exported core compiles here.

pub use localrank_core::{error, history, model, pool, rank};
pub use localrank_core::{
    EventInput, EventKind, History, HistoryExport, HistoryStore, LocalRankError, MemoryStore, OpenOptions,
    RetentionPolicy, StoredEvent, VERSION, Warning,
};

pub mod gpu;

#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod web;
