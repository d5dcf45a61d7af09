//! `localrank data prepare`.
use clap::Args;
use localrank_model::data::{readers, Dataset, Dedupe, PrepareOptions};

use crate::error::CliError;
use crate::fetch;
use crate::paths::{DatasetSpec, Paths};

#[derive(Args, Debug, Clone)]
pub struct PrepareArgs {
    /// ml-100k, complete-journey, or a store log (.csv/.tsv/.parquet with user,item,timestamp[,kind,category,price])
    #[arg(long, default_value = "ml-100k")]
    pub dataset: String,
    /// Iterative k-core filter on users and items [default: 5; 1 (none) for ml-100k, matching
    /// RecBole's ml-100k config that the reference numbers were measured with]
    #[arg(long)]
    pub k_core: Option<usize>,
    /// Keep only the first event of each user-item pair [default: on for complete-journey]
    #[arg(long)]
    pub first_only: Option<bool>,
}

pub fn run(paths: &Paths, a: &PrepareArgs, log: &mut dyn FnMut(&str)) -> Result<Dataset, CliError> {
    let spec = DatasetSpec::parse(&a.dataset);
    let raw = match &spec {
        DatasetSpec::Ml100k | DatasetSpec::CompleteJourney => {
            let needed = if spec == DatasetSpec::Ml100k { paths.ml100k_inter() } else { paths.cj_dir().join("transactions.parquet") };
            if !needed.exists() {
                log("raw data missing: fetching first");
                fetch::fetch_all(&paths.cache, log)?;
            }
            if spec == DatasetSpec::Ml100k {
                readers::read_ml100k(&paths.ml100k_inter())?
            } else {
                readers::read_complete_journey(&paths.cj_dir().join("transactions.parquet"), &paths.cj_dir().join("products.parquet"))?
            }
        }
        DatasetSpec::File(p) => readers::read_store_log(p, localrank_model::data::EventKind::Purchase)?,
    };
    log(&raw.malformed_summary(20));
    let first_only = a.first_only.unwrap_or(spec == DatasetSpec::CompleteJourney);
    let k_core = a.k_core.unwrap_or(if spec == DatasetSpec::Ml100k { 1 } else { 5 });
    let opts = PrepareOptions { k_core, dedupe: if first_only { Dedupe::FirstPerUserItem } else { Dedupe::None } };
    let ds = localrank_model::data::prepare(&spec.name(), &raw, &opts)?;
    let out = paths.prepared(&spec);
    ds.save(&out)?;
    log(&format!("{}: {} users, {} items, {} events -> {}", ds.name, ds.num_users(), ds.num_items(), ds.num_events(), out.display()));
    Ok(ds)
}

/// Loads the prepared dataset, preparing it with defaults when absent.
pub fn load_or_prepare(paths: &Paths, dataset: &str, log: &mut dyn FnMut(&str)) -> Result<Dataset, CliError> {
    let spec = DatasetSpec::parse(dataset);
    let p = paths.prepared(&spec);
    if p.exists() {
        return Ok(Dataset::load(&p)?);
    }
    run(paths, &PrepareArgs { dataset: dataset.to_string(), k_core: None, first_only: None }, log)
}
