//! localrank's reference candidate service.
//!
//! It serves the demo storefront's files, the model files the page downloads, and
//! `GET /api/pool?context=home&n=200`: the non-personal candidate pool (the most popular
//! products that have a learned vector, each with its public vector, popularity score, title,
//! category, price and an image placeholder, and up to eight new arrivals: products placed by
//! their text, flagged `isNew`). It receives no user identity and no history —
//! see `server/README.md` for the contract.
//!
//! ```no_run
//! # async fn demo() -> Result<(), localrank_server::ServerError> {
//! use localrank_server::{run, CatalogueSource, ServerConfig};
//! run(ServerConfig {
//!     addr: "127.0.0.1:8080".parse().unwrap(),
//!     site_root: "www/dist".into(),
//!     model_dir: ".cache/localrank/artifacts/complete-journey".into(),
//!     catalogue: CatalogueSource::Json(".cache/localrank/artifacts/complete-journey/catalogue.json".into()),
//!     experiment_split: 1.0,
//! }).await
//! # }
//! ```
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub mod catalogue;
mod error;
pub mod experiment;
mod http;
mod image;
pub mod items;
pub mod pool;

pub use catalogue::{Catalogue, Product};
pub use error::ServerError;
pub use http::{AppState, CONTEXTS, DEFAULT_N, MAX_N, router};
pub use items::ItemTable;
pub use pool::Pool;

use error::{Result, io_err};

/// Where the product catalogue comes from.
#[derive(Debug, Clone)]
pub enum CatalogueSource {
    /// A catalogue JSON written earlier (by `Catalogue::write_json`).
    Json(PathBuf),
    /// Complete Journey's Parquet files; the catalogue is built on first start and cached at
    /// `cache`.
    CompleteJourney {
        products: PathBuf,
        transactions: PathBuf,
        cache: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// The built storefront (`www/dist`, written by `node scripts/build-site.mjs`): served as
    /// is, `/` being its `index.html`; hidden files (`.name`) never.
    pub site_root: PathBuf,
    /// An exported model directory: model.json, model.safetensors, items.json, items.safetensors.
    pub model_dir: PathBuf,
    pub catalogue: CatalogueSource,
    /// The demo experiment's personalized share (`--experiment-split`, default 1: every real
    /// visitor sees the personalized homepage the demo exists to show; the control arm's
    /// reports then come from the lift page's simulated shoppers. 0.5 runs a real A/B split).
    pub experiment_split: f64,
}

/// The exported model's version ([`localrank_core::format::model_version`]: FNV-1a of
/// model.json then model.safetensors). The page caches the weights in IndexedDB under this
/// key, and the engine derives the same key from the same bytes, so a new export is a new
/// download and an unchanged one is none.
pub fn model_version(model_dir: &std::path::Path) -> Result<String> {
    let read = |name: &str| {
        let path = model_dir.join(name);
        std::fs::read(&path).map_err(io_err(&path))
    };
    Ok(localrank_core::format::model_version(
        &read("model.json")?,
        &read("model.safetensors")?,
    ))
}

/// Reads the model directory and the catalogue and builds the pool.
pub fn load_state(config: &ServerConfig) -> Result<AppState> {
    let catalogue = match &config.catalogue {
        CatalogueSource::Json(path) => Catalogue::read_json(path)?,
        CatalogueSource::CompleteJourney {
            products,
            transactions,
            cache,
        } => Catalogue::load_or_build(cache, products, transactions)?,
    };
    let table = items::read(&config.model_dir)?;
    let pool = Pool::build(&table, &catalogue, model_version(&config.model_dir)?)?;
    Ok(AppState {
        pool,
        site_root: config
            .site_root
            .join("index.html")
            .is_file()
            .then(|| config.site_root.clone()),
        model_dir: config.model_dir.clone(),
        experiment: experiment::DemoExperiment::new(config.experiment_split)?,
    })
}

/// Serves `state` on an already bound listener until `shutdown` resolves, then finishes the
/// requests in flight. Tests use it with an ephemeral port and their own shutdown signal.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, router(Arc::new(state)))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
}

/// Loads everything, listens on `config.addr`, prints the URL, and serves until SIGINT or
/// SIGTERM (then drains the requests in flight and returns `Ok`).
pub async fn run(config: ServerConfig) -> Result<()> {
    let state = load_state(&config)?;
    let items = state.pool.len();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.addr,
        source,
    })?;
    if state.site_root.is_none() {
        eprintln!(
            "warning: no index.html in --site {}: serving the API only, no files (build the site with `node scripts/build-site.mjs`)",
            config.site_root.display()
        );
    }
    println!(
        "localrank demo storefront: http://{addr}/  ({items} products in the pool, {} of them new arrivals, model {})",
        state.pool.new_arrivals(),
        state.pool.model
    );
    serve(listener, state, shutdown_signal()).await?;
    println!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, never resolve from this branch: SIGTERM remains.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    println!("shutting down: finishing requests in flight");
}

// ---- Command line (shared by `localrank-server` and `localrank serve`) ----

pub const USAGE: &str = "usage: localrank-server|localrank serve [--addr HOST:PORT] [--site DIR] [--model-dir DIR] [--catalogue FILE.json | --data-dir DIR] [--experiment-split 0..1]";

/// Reads the command-line options (without the program name).
pub fn config_from_args(
    args: impl IntoIterator<Item = String>,
) -> std::result::Result<ServerConfig, String> {
    let mut addr = std::env::var("LOCALRANK_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut site = PathBuf::from("www/dist");
    let mut model_dir = PathBuf::from(".cache/localrank/artifacts/complete-journey");
    let mut catalogue: Option<PathBuf> = None;
    let mut data_dir = PathBuf::from(".cache/localrank/raw/complete-journey");
    let mut experiment_split = 1.0;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--addr" => addr = value,
            "--site" => site = value.into(),
            "--model-dir" => model_dir = value.into(),
            "--catalogue" => catalogue = Some(value.into()),
            "--data-dir" => data_dir = value.into(),
            "--experiment-split" => {
                experiment_split = value
                    .parse()
                    .map_err(|e| format!("--experiment-split {value:?}: {e}"))?
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    let addr = addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?;
    let catalogue = match catalogue {
        Some(path) => CatalogueSource::Json(path),
        None => CatalogueSource::CompleteJourney {
            products: data_dir.join("products.parquet"),
            transactions: data_dir.join("transactions.parquet"),
            cache: model_dir.join("catalogue.json"),
        },
    };
    Ok(ServerConfig {
        addr,
        site_root: site,
        model_dir,
        catalogue,
        experiment_split,
    })
}

/// Runs the service from command-line options on a fresh tokio runtime: the entry point of
/// both `localrank-server` and `localrank serve`. Exit code 2 for usage errors.
pub fn main_from_args(args: impl IntoIterator<Item = String>) -> std::process::ExitCode {
    let config = match config_from_args(args) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("localrank-server: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localrank-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod command_line_tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_are_read_and_mistakes_named() {
        let config = config_from_args(args(&[
            "--addr",
            "127.0.0.1:9001",
            "--catalogue",
            "c.json",
            "--site",
            "www",
        ]))
        .unwrap();
        assert_eq!(config.addr.port(), 9001);
        assert_eq!(config.site_root, PathBuf::from("www"));
        assert_eq!(
            config_from_args(args(&[])).unwrap().site_root,
            PathBuf::from("www/dist"),
            "the site Vite builds"
        );
        assert!(
            matches!(config.catalogue, CatalogueSource::Json(ref p) if p == &PathBuf::from("c.json"))
        );
        assert!(
            config_from_args(args(&["--bogus", "1"]))
                .unwrap_err()
                .contains("unknown option --bogus")
        );
        assert!(
            config_from_args(args(&["--addr"]))
                .unwrap_err()
                .contains("--addr needs a value")
        );
        assert!(
            config_from_args(args(&["--addr", "nowhere"]))
                .unwrap_err()
                .contains("--addr")
        );
    }
}
