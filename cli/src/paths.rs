//! Where data, prepared datasets and trained models live. Everything is under one cache
//! folder (default `.cache/localrank`, git-ignored; override with `--cache` or
//! `LOCALRANK_CACHE`).
use std::path::PathBuf;

use localrank_model::data::Protocol;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetSpec {
    Ml100k,
    CompleteJourney,
    /// A store's own log file (CSV/TSV/Parquet).
    File(PathBuf),
}

impl DatasetSpec {
    pub fn parse(s: &str) -> DatasetSpec {
        match s {
            "ml-100k" | "ml100k" | "movielens" => DatasetSpec::Ml100k,
            "complete-journey" | "cj" | "completejourney" => DatasetSpec::CompleteJourney,
            other => DatasetSpec::File(PathBuf::from(other)),
        }
    }

    /// The name of a protocol's files: the short name, with `.next-basket` for that protocol.
    pub fn stem(&self, protocol: Protocol) -> String {
        match protocol {
            Protocol::LeaveOneOut => self.name(),
            Protocol::NextBasket => format!("{}.{}", self.name(), protocol.as_str()),
        }
    }

    /// Short name used for folders and reports.
    pub fn name(&self) -> String {
        match self {
            DatasetSpec::Ml100k => "ml-100k".into(),
            DatasetSpec::CompleteJourney => "complete-journey".into(),
            DatasetSpec::File(p) => p.file_stem().and_then(|s| s.to_str()).unwrap_or("store-log").to_string(),
        }
    }
}

pub struct Paths {
    pub cache: PathBuf,
}

impl Paths {
    pub fn new(cache: Option<PathBuf>) -> Paths {
        let cache = cache.or_else(|| std::env::var_os("LOCALRANK_CACHE").map(PathBuf::from)).unwrap_or_else(|| PathBuf::from(".cache/localrank"));
        Paths { cache }
    }

    pub fn raw(&self) -> PathBuf {
        self.cache.join("raw")
    }

    pub fn ml100k_inter(&self) -> PathBuf {
        self.raw().join("ml-100k/ml-100k.inter")
    }

    /// MovieLens-100k's item table (title, year, genres), unpacked beside the ratings.
    pub fn ml100k_items(&self) -> PathBuf {
        self.raw().join("ml-100k/ml-100k.item")
    }

    pub fn cj_dir(&self) -> PathBuf {
        self.raw().join("complete-journey")
    }

    /// The prepared data for a protocol: leave-one-out keeps the plain name (`<name>.json`),
    /// next-basket data (a different item set: repeats kept) is `<name>.next-basket.json`.
    pub fn prepared_as(&self, spec: &DatasetSpec, protocol: Protocol) -> PathBuf {
        self.cache.join("prepared").join(format!("{}.json", spec.stem(protocol)))
    }

    /// The trained model (f32 export format) and its training log.
    pub fn artifacts(&self, spec: &DatasetSpec) -> PathBuf {
        self.artifacts_as(spec, Protocol::LeaveOneOut)
    }

    /// The model trained on a protocol's split (next-basket: `<name>.next-basket`).
    pub fn artifacts_as(&self, spec: &DatasetSpec, protocol: Protocol) -> PathBuf {
        self.cache.join("artifacts").join(spec.stem(protocol))
    }
}
