//! localrank: private, on-device personalization for a storefront's homepage.
//!
//! The shopper's history (views, clicks, cart adds, purchases, favourites, searches) lives on
//! their device; this crate keeps it, and — in later modules — turns it into an intent vector
//! and reorders the server's candidate pool with it.
//!
//! Everything here is plain Rust exercised by `cargo test` natively. The platform edges are
//! few and explicit:
//! - [`history::idb`] — the IndexedDB store (wasm32 only);
//! - [`gpu`] — WebGPU adapter detection (a real probe on wasm32, "no GPU" natively);
//! - [`web`] — the wasm-bindgen API the npm package wraps (wasm32 only).

pub mod error;
pub mod gpu;
pub mod history;
pub mod model;
pub mod pool;
pub mod rank;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{LocalRankError, Warning};
pub use history::{
    EventInput, EventKind, History, HistoryExport, HistoryStore, MemoryStore, OpenOptions,
    RetentionPolicy, StoredEvent,
};

/// The engine's version, as published on npm and crates.io.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
