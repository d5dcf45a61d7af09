//! localrank-core: the platform-free engine behind localrank's on-device personalization.
//!
//! The shopper's history (views, clicks, cart adds, purchases, favourites, searches) and the
//! rules it obeys, the server's candidate pool, the intent encoder's CPU forward pass, and the
//! ranking that blends them — all plain Rust, exercised natively by `cargo test` and shared by
//! the browser engine (the `localrank` crate, which adapts it to WebAssembly: IndexedDB,
//! WebGPU, the JS API) and the trainer (`localrank-model`, whose blend tuning ranks with this
//! crate's own code).
//!
//! The platform seams are traits the web crate implements:
//! - [`history::HistoryStore`] — where history persists ([`history::MemoryStore`] here,
//!   IndexedDB in the browser);
//! - [`gpu::GpuDevice`] — a GPU for the model ([`gpu::NoGpu`] here, WebGPU in the browser).
//!
//! With the `tsify` feature (on in the web crate) the JS-facing types also derive their
//! TypeScript declarations; without it this crate depends on no browser binding at all.

pub mod base64;
pub mod error;
pub mod format;
pub mod gpu;
pub mod hash;
pub mod history;
pub mod json_path;
pub mod json_tree;
pub mod measure;
pub mod model;
pub mod pool;
pub mod rank;
pub mod sort;
pub mod text;

pub use error::{LocalRankError, Warning};
pub use history::{
    EventInput, EventKind, History, HistoryExport, HistoryStore, MemoryStore, OpenOptions,
    RetentionPolicy, StoredEvent,
};

/// The engine's version, as published on npm and crates.io.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
