//! `localrank export`: the trained model for browsers and the item-vector table for the
//! candidate service, in f32, f16 and int8; or a seeded random-init model for parity tests.
use std::path::PathBuf;

use clap::Args;
use localrank_model::baselines::{cooccurrence_neighbours, EXPORT_NEIGHBOURS};
use localrank_model::data::rebuy::rebuy_rates;
use localrank_model::export::{read_model_dir, set_blend, set_repeat, write_model_dir, ItemStats, Precision};
use localrank_model::{EncoderConfig, ModelWeights};
use serde_json::json;

use crate::commands::prepare::load_or_prepare_as;
use localrank_model::data::Protocol;
use crate::error::CliError;
use crate::paths::{DatasetSpec, Paths};

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    #[arg(long, default_value = "ml-100k")]
    pub dataset: String,
    /// Output folder [default: <cache>/export/<dataset>]; one sub-folder per precision
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// f32, f16, int8 or all
    #[arg(long, default_value = "all")]
    pub precision: String,
    /// Write a seeded random-init model (tiny dims) instead of the trained one
    #[arg(long)]
    pub random: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Random model: number of items / dim / heads / blocks / max_len
    #[arg(long, default_value_t = 16)]
    pub items: usize,
    #[arg(long, default_value_t = 8)]
    pub dim: usize,
    #[arg(long, default_value_t = 2)]
    pub heads: usize,
    #[arg(long, default_value_t = 2)]
    pub blocks: usize,
    #[arg(long, default_value_t = 6)]
    pub max_len: usize,
    /// Co-occurrence neighbours per item written into the item table (from the training
    /// split, as item-kNN computes them; the candidate service attaches them to pool items);
    /// 0 writes none
    #[arg(long, default_value_t = EXPORT_NEIGHBOURS)]
    pub neighbours: usize,
    /// Which trained model to export: the leave-one-out one or the next-basket one
    #[arg(long, default_value = "leave-one-out", value_parser = crate::commands::prepare::parse_protocol)]
    pub protocol: Protocol,
}

pub fn run(paths: &Paths, a: &ExportArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let precisions: Vec<Precision> = match a.precision.as_str() {
        "all" => vec![Precision::F32, Precision::F16, Precision::Int8],
        p => vec![Precision::parse(p).ok_or_else(|| CliError::Usage(format!("unknown precision {p:?}; use f32, f16, int8 or all")))?],
    };
    let (weights, ids, name, metrics, blend, (lists, rates), repeat) = if a.random {
        let cfg = EncoderConfig { dim: a.dim, heads: a.heads, blocks: a.blocks, max_len: a.max_len, ffn_dim: a.dim * 2, ..EncoderConfig::tiny(a.items) };
        let w = ModelWeights::random(&cfg, a.seed)?;
        let ids = (0..a.items).map(|i| format!("item{i}")).collect();
        (w, ids, format!("random-seed{}", a.seed), json!({ "random_seed": a.seed }), None, (None, None), None)
    } else {
        let spec = DatasetSpec::parse(&a.dataset);
        let dir = paths.artifacts_as(&spec, a.protocol);
        if !dir.join("model.json").exists() {
            return Err(CliError::NoModel { path: dir, dataset: a.dataset.clone() });
        }
        let (w, mj, ids) = read_model_dir(&dir)?;
        // Attach the latest eval report's numbers when there is one.
        let report = paths.cache.join("reports").join(format!("{}.json", spec.stem(a.protocol)));
        let metrics = std::fs::read(&report).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()).map(|r| json!({ "test": r["models"]["localrank"], "quantization": r["quantization"], "settings": mj.metrics["settings"] })).unwrap_or(mj.metrics.clone());
        if mj.config.blend.is_none() {
            log("note: the model has no tuned blend weights yet, so the engine will use its defaults with it; `localrank eval` tunes them");
        }
        // The neighbour lists come from the prepared data's training split, the data the model
        // was trained on (the item set is checked equal).
        // So do the re-buy rates, written when the log has repeat purchases at all.
        let ds = load_or_prepare_as(paths, &a.dataset, a.protocol, log)?;
        if ds.item_ids != ids {
            return Err(CliError::Usage(format!("the model in {} was trained on a different item set; retrain it", dir.display())));
        }
        let lists = (a.neighbours > 0).then(|| cooccurrence_neighbours(&ds, a.neighbours));
        let rates = Some(rebuy_rates(&ds)).filter(|r| r.iter().any(|&r| r > 0.0));
        (w, ids, spec.stem(a.protocol), metrics, mj.config.blend.map(|b| (b, mj.config.blend_neighbours)), (lists, rates), mj.config.repeat.map(|r| (r, mj.config.repeat_scorer.clone())))
    };
    let out = a.out.clone().unwrap_or_else(|| paths.cache.join("export").join(&name));
    for p in precisions {
        let dir = if a.precision == "all" { out.join(format!("{p:?}").to_lowercase()) } else { out.clone() };
        write_model_dir(&dir, &weights, &ids, p, &name, metrics.clone(), ItemStats { neighbours: lists.as_deref(), rebuy_rates: rates.as_deref() })?;
        if let Some((blend, source)) = blend {
            set_blend(&dir, blend, source)?;
        }
        if let Some((params, scorer)) = &repeat {
            set_repeat(&dir, *params, scorer.clone())?;
        }
        let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        log(&format!("{p:?}: {} (model.safetensors {} bytes, items.safetensors {} bytes)", dir.display(), size("model.safetensors"), size("items.safetensors")));
    }
    Ok(())
}
