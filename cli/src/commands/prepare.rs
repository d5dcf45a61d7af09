//! `localrank data prepare`.
use std::path::PathBuf;

use clap::Args;
use localrank_model::data::{read_item_texts, readers, Dataset, Dedupe, PrepareOptions, Protocol};

use crate::error::CliError;
use crate::fetch;
use crate::paths::{DatasetSpec, Paths};

#[derive(Args, Debug, Clone)]
pub struct PrepareArgs {
    /// ml-100k, complete-journey, or a store log: a .csv/.tsv/.parquet file or a folder of part files (Spark/DuckDB/Polars output) with user,item,timestamp[,kind,category,price,basket]
    #[arg(long, default_value = "ml-100k")]
    pub dataset: String,
    /// Iterative k-core filter on users and items [default: 5; 1 (none) for ml-100k, matching
    /// RecBole's ml-100k config that the reference numbers were measured with]
    #[arg(long)]
    pub k_core: Option<usize>,
    /// Keep only the first event of each user-item pair [default: on for complete-journey
    /// under leave-one-out; next-basket always keeps repeats]
    #[arg(long)]
    pub first_only: Option<bool>,
    /// How to split each user's events: leave-one-out (last event = test) or next-basket (last
    /// basket = test; repeats kept; baskets from a basket/order column, else 30-minute sessions)
    #[arg(long, default_value = "leave-one-out", value_parser = parse_protocol)]
    pub protocol: Protocol,
    /// The catalogue's product text (.csv/.tsv/.parquet: item plus any of title, category,
    /// brand, description; common aliases accepted) for the text tower. ml-100k and
    /// complete-journey read their own item tables without it
    #[arg(long)]
    pub items: Option<PathBuf>,
}

/// `--protocol`'s values.
pub fn parse_protocol(s: &str) -> Result<Protocol, String> {
    [Protocol::LeaveOneOut, Protocol::NextBasket]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| format!("unknown protocol {s:?}; use leave-one-out or next-basket"))
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
    for note in &raw.notes {
        log(note);
    }
    let next_basket = a.protocol == Protocol::NextBasket;
    if next_basket && a.first_only == Some(true) {
        return Err(CliError::Usage("--first-only true drops repeat purchases, which the next-basket protocol keeps; leave it out".into()));
    }
    let first_only = a.first_only.unwrap_or(spec == DatasetSpec::CompleteJourney && !next_basket);
    let k_core = a.k_core.unwrap_or(if spec == DatasetSpec::Ml100k { 1 } else { 5 });
    let opts = PrepareOptions { k_core, dedupe: if first_only { Dedupe::FirstPerUserItem } else { Dedupe::None }, protocol: a.protocol };
    let mut ds = localrank_model::data::prepare(&spec.name(), &raw, &opts)?;
    // The raw log is no longer needed: free it before writing, so the peak is one copy.
    drop(raw);
    let catalogue = match (&a.items, &spec) {
        (Some(file), _) => Some(file.clone()),
        (None, DatasetSpec::Ml100k) => Some(paths.ml100k_items()),
        (None, DatasetSpec::CompleteJourney) => Some(paths.cj_dir().join("products.parquet")),
        (None, DatasetSpec::File(_)) => None,
    };
    if let Some(file) = catalogue {
        // A built-in data set fetched before its item table was unpacked prepares without text.
        if a.items.is_some() || file.exists() {
            let texts = read_item_texts(&file)?;
            log(&texts.summary(&file, 20));
            log(&ds.attach_text(&texts).to_string());
        }
    }
    if next_basket {
        for note in &ds.notes {
            log(note);
        }
    }
    let out = paths.prepared_as(&spec, a.protocol);
    ds.save(&out)?;
    log(&format!("{}: {} users, {} items, {} events -> {}", ds.name, ds.num_users(), ds.num_items(), ds.num_events(), out.display()));
    Ok(ds)
}

/// Loads the prepared dataset, preparing it with defaults when absent.
pub fn load_or_prepare(paths: &Paths, dataset: &str, log: &mut dyn FnMut(&str)) -> Result<Dataset, CliError> {
    load_or_prepare_as(paths, dataset, Protocol::LeaveOneOut, log)
}

/// Loads the dataset prepared for `protocol`, preparing it with defaults when absent.
pub fn load_or_prepare_as(paths: &Paths, dataset: &str, protocol: Protocol, log: &mut dyn FnMut(&str)) -> Result<Dataset, CliError> {
    let spec = DatasetSpec::parse(dataset);
    let p = paths.prepared_as(&spec, protocol);
    if p.exists() {
        let ds = Dataset::load(&p)?;
        if ds.protocol() != protocol {
            return Err(CliError::Usage(format!("{} holds {} data, not {}; delete it and run `localrank data prepare --protocol {}`", p.display(), ds.protocol().as_str(), protocol.as_str(), protocol.as_str())));
        }
        return Ok(ds);
    }
    run(paths, &PrepareArgs { dataset: dataset.to_string(), k_core: None, first_only: None, protocol, items: None }, log)
}
