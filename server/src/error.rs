//! Every way the service can fail to start. Request-time problems are not errors of the
//! service: they become 4xx JSON answers in `http.rs`.
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON for {what}: {source}")]
    Json {
        path: PathBuf,
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("{path}: unreadable Parquet: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path}: the column {column:?} is missing")]
    MissingColumn { path: PathBuf, column: String },
    /// The model directory's item table is unreadable or inconsistent (the message names
    /// the file: items.json or items.safetensors).
    #[error("{dir}: {source}")]
    Items {
        dir: PathBuf,
        source: localrank_core::format::ItemTableError,
    },
    #[error("no item of the vector table is in the catalogue (ids do not match?)")]
    EmptyPool,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Experiment(#[from] crate::experiment::ExperimentError),
    #[error("the HTTP server stopped: {0}")]
    Serve(std::io::Error),
}

pub type Result<T> = std::result::Result<T, ServerError>;

pub(crate) fn io_err(path: &std::path::Path) -> impl Fn(std::io::Error) -> ServerError + '_ {
    move |source| ServerError::Io {
        path: path.to_path_buf(),
        source,
    }
}
