//! Error type of the model crate: every variant says what to do about it.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source} (check the path exists and is readable)")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot parse Parquet file {path}: {message} (is it a valid Parquet file?)")]
    Parquet { path: PathBuf, message: String },
    #[error("cannot parse CSV file {path}: {message}")]
    Csv { path: PathBuf, message: String },
    #[error("{path}: missing required column `{column}`; a store log needs columns user,item,timestamp and optionally kind,category,price,basket")]
    MissingColumn { path: PathBuf, column: String },
    #[error("unsupported input format for {path}: expected a .csv, .tsv, .inter or .parquet file, or a folder of them")]
    UnsupportedFormat { path: PathBuf },
    #[error("{dir}: no part files (.parquet, .pq, .csv, .tsv) in this folder or below it (names starting with _ or . are skipped)")]
    NoParts { dir: PathBuf },
    #[error("{dir}: part {part} does not match part {first}: it has {found}, the first has {expected}; write every part with one schema (one job, one query)")]
    PartSchemaMismatch { dir: PathBuf, part: String, first: String, found: String, expected: String },
    #[error("no usable interactions left after filtering ({stage}); lower --k-core or check the input")]
    EmptyDataset { stage: String },
    #[error("invalid JSON in {path}: {message} (re-run the command that writes it)")]
    Json { path: PathBuf, message: String },
    #[error("safetensors error in {path}: {message}")]
    SafeTensors { path: PathBuf, message: String },
    #[error("{dir}: {source}")]
    Items { dir: PathBuf, source: localrank_core::format::ItemTableError },
    #[error("model weights are inconsistent: {0}")]
    BadWeights(String),
    #[error("invalid configuration: {0}")]
    BadConfig(String),
    #[error("tensor backend error: {0}")]
    Backend(String),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ModelError {
    let path = path.into();
    move |source| ModelError::Io { path, source }
}
