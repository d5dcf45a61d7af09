//! `localrank data synth`: a seeded synthetic store log of any size, as a folder of Parquet
//! part files (Spark's layout), for measuring `data prepare` and training at scale.
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use localrank_model::data::synth::{write_parquet_parts, SynthSpec};

use crate::error::CliError;

#[derive(Args, Debug, Clone)]
pub struct SynthArgs {
    /// Folder to write part-NNNNN.parquet files (and _SUCCESS) into
    #[arg(long)]
    pub out: PathBuf,
    /// Number of events
    #[arg(long, default_value_t = 2_000_000)]
    pub events: usize,
    /// Catalogue size (items, in topics of 30)
    #[arg(long, default_value_t = 50_000)]
    pub items: usize,
    /// Mean events per shopper
    #[arg(long, default_value_t = 100)]
    pub mean_history: usize,
    /// Number of part files
    #[arg(long, default_value_t = 8)]
    pub parts: usize,
    /// Seed; the same seed writes the same files
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(a: &SynthArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let t = Instant::now();
    let spec = SynthSpec { events: a.events, items: a.items, mean_history: a.mean_history, parts: a.parts, seed: a.seed };
    let s = write_parquet_parts(&a.out, &spec)?;
    log(&format!("{}: {} events of {} shoppers over {} items in {} parts ({:.1}s)", a.out.display(), s.events, s.users, a.items, s.parts, t.elapsed().as_secs_f64()));
    Ok(())
}
