//! `localrank export`: the trained model for browsers and the item-vector table for the
//! candidate service, in f32, f16 and int8; or a seeded random-init model for parity tests.
use std::path::PathBuf;

use clap::Args;
use localrank_model::baselines::{cooccurrence_neighbours, EXPORT_NEIGHBOURS};
use localrank_model::cold_start::{choose_placement, place_by_neighbours, tower_vectors, Placement};
use localrank_model::data::rebuy::rebuy_rates;
use localrank_model::export::{read_model_dir, set_blend, set_repeat, text_only_items, write_model_dir, ItemStats, Precision, TextOnlyItems};
use localrank_model::weights::ITEM_VECTORS;
use localrank_model::data::Dataset;
use localrank_model::train::EncoderScorer;
use localrank_model::{EncoderConfig, ModelWeights};
use burn::module::Module;
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
    let (weights, ids, name, metrics, blend, (lists, rates, text_only), repeat) = if a.random {
        let cfg = EncoderConfig { dim: a.dim, heads: a.heads, blocks: a.blocks, max_len: a.max_len, ffn_dim: a.dim * 2, ..EncoderConfig::tiny(a.items) };
        let w = ModelWeights::random(&cfg, a.seed)?;
        let ids = (0..a.items).map(|i| format!("item{i}")).collect();
        (w, ids, format!("random-seed{}", a.seed), json!({ "random_seed": a.seed }), None, (None, None, None), None)
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
        // Catalogue products with text but no kept event get the text tower's vector of their
        // text, after the learned rows (the candidate service shows them as new arrivals).
        let text_only = match (&w.config.text, ds.catalogue_text.is_empty()) {
            (Some(_), false) => {
                let mut rows = text_only_items(&w, &ds.catalogue_text)?;
                // The tower's vector finds the product's nearest learned items; their learned
                // vectors place it, with as many neighbours as serve the training log's own
                // validation targets best (`cold_start`).
                let placement = choose_text_placement(&w, &ds)?;
                log(&placement.describe());
                let lenders = placement.lenders.mask(&ds);
                let placed = place_by_neighbours(&w.get(ITEM_VECTORS)?.data, w.config.dim, &mut rows.vectors, placement.k, Some(&lenders));
                log(&format!("text-only rows: {} catalogue products the model never trained on, {placed} of them placed by learned neighbours", rows.len()));
                Some(rows)
            }
            (None, false) => {
                log(&format!("note: {} catalogue products have text but no learned vector; this model has no text tower to place them (train with text to include them)", ds.catalogue_text.len()));
                None
            }
            _ => None,
        };
        (w, ids, spec.stem(a.protocol), metrics, mj.config.blend.map(|b| (b, mj.config.blend_neighbours)), (lists, rates, text_only), mj.config.repeat.map(|r| (r, mj.config.repeat_scorer.clone())))
    };
    let out = a.out.clone().unwrap_or_else(|| paths.cache.join("export").join(&name));
    for p in precisions {
        let dir = if a.precision == "all" { out.join(format!("{p:?}").to_lowercase()) } else { out.clone() };
        let stats = ItemStats { neighbours: lists.as_deref(), rebuy_rates: rates.as_deref(), text_only: text_only.as_ref() };
        write_model_dir(&dir, &weights, &ids, p, &name, metrics.clone(), stats)?;
        if let Some((blend, source)) = blend {
            set_blend(&dir, blend, source)?;
        }
        if let Some((params, scorer)) = &repeat {
            set_repeat(&dir, *params, scorer.clone())?;
        }
        let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        let text_rows = text_only.as_ref().map_or(0, TextOnlyItems::len);
        log(&format!("{p:?}: {} (model.safetensors {} bytes, items.safetensors {} bytes: {} learned + {text_rows} text-only rows)", dir.display(), size("model.safetensors"), size("items.safetensors"), ids.len()));
    }
    Ok(())
}

/// [`choose_placement`] for a model and the prepared data it trained on: the tower's vector of
/// every item's text (zeros without) and the learned item vectors.
fn choose_text_placement(w: &ModelWeights, ds: &Dataset) -> Result<Placement, CliError> {
    let tower = tower_vectors(w, ds)?;
    let device = localrank_model::cpu_device();
    let model = w.to_encoder(&device)?.valid();
    let encoder = EncoderScorer { model: &model, max_len: w.config.max_len, device, gap_to_target: true };
    Ok(choose_placement(&encoder, ds, &w.get(ITEM_VECTORS)?.data, &tower, w.config.dim))
}

#[cfg(test)]
mod tests {
    //! `localrank export` of a model with a text tower: catalogue products without a kept
    //! event become text-only rows. The model is a seeded random one written where `train`
    //! would write it (training is covered by the pipeline tests; here only export matters).
    use localrank_core::format::ItemTable;
    use localrank_core::model::{TextTower, TextTowerConfig, TEXT_EMBEDDING, TEXT_PROJ_BIAS, TEXT_PROJ_WEIGHT};
    use localrank_model::export::{read_model_dir, write_model_dir, ItemStats, Precision};
    use localrank_model::{EncoderConfig, ModelWeights};

    use super::*;

    #[test]
    fn a_text_tower_model_exports_catalogue_only_products_as_text_only_rows() {
        let dir = std::env::temp_dir().join(format!("localrank-cli-export-text-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        // 12 products bought by 24 shoppers; the catalogue also lists sku100, which nobody bought.
        let mut log = String::from("user,item,timestamp,kind\n");
        for u in 0..24 {
            for t in 0..10 {
                log.push_str(&format!("u{u},sku{},{},purchase\n", (u * 5 + t) % 12, 1_700_000_000 + t * 60));
            }
        }
        let log_path = dir.join("shop.csv");
        std::fs::write(&log_path, log).expect("write log");
        let mut catalogue = String::from("sku,name,category\n");
        for i in 0..12 {
            catalogue.push_str(&format!("sku{i},Item {i},{}\n", if i % 2 == 0 { "Dairy" } else { "Bakery" }));
        }
        catalogue.push_str("sku100,New oat milk,Dairy\n");
        std::fs::write(dir.join("catalogue.csv"), catalogue).expect("write catalogue");
        let paths = Paths::new(Some(dir.join("cache")));
        let dataset = log_path.to_string_lossy().to_string();
        let prepare = crate::commands::prepare::PrepareArgs { dataset: dataset.clone(), k_core: Some(2), first_only: None, protocol: Default::default(), items: Some(dir.join("catalogue.csv")) };
        let ds = crate::commands::prepare::run(&paths, &prepare, &mut |_: &str| {}).expect("prepares");
        assert_eq!(ds.catalogue_text.len(), 1);

        let export = ExportArgs { dataset: dataset.clone(), out: Some(dir.join("export")), precision: "all".into(), random: false, seed: 1, items: 4, dim: 8, heads: 2, blocks: 1, max_len: 4, neighbours: 3, protocol: Default::default() };
        let artifacts = paths.artifacts(&DatasetSpec::parse(&dataset));
        let mut lines: Vec<String> = Vec::new();
        // Without a tower: exported as before, with a note saying why sku100 is missing.
        let plain = ModelWeights::random(&EncoderConfig::tiny(ds.num_items()), 2).expect("random");
        write_model_dir(&artifacts, &plain, &ds.item_ids, Precision::F32, &ds.name, json!({}), ItemStats::default()).expect("writes");
        run(&paths, &export, &mut |s: &str| lines.push(s.to_string())).expect("exports");
        let table = |p: &str| ItemTable::parse(&std::fs::read(dir.join("export").join(p).join("items.json")).unwrap(), &std::fs::read(dir.join("export").join(p).join("items.safetensors")).unwrap()).expect("table");
        assert_eq!((table("f32").len(), table("f32").learned), (12, 12));
        assert!(lines.iter().any(|l| l.contains("1 catalogue products have text but no learned vector")), "{lines:?}");

        let tower = TextTowerConfig { buckets: 256, min_n: 3, max_n: 4, dim: 4 };
        let w = ModelWeights::random(&EncoderConfig { text: Some(tower), ..EncoderConfig::tiny(ds.num_items()) }, 2).expect("random");
        write_model_dir(&artifacts, &w, &ds.item_ids, Precision::F32, &ds.name, json!({}), ItemStats::default()).expect("writes");
        lines.clear();
        run(&paths, &export, &mut |s: &str| lines.push(s.to_string())).expect("exports");
        assert!(lines.iter().any(|l| l.contains("text-only rows: 1 catalogue products")), "{lines:?}");
        // The engine's tower over the same weights: what the browser would compute for sku100.
        // The export places it by the learned rows nearest that vector.
        let engine = TextTower::new(tower, 8, w.tensors[TEXT_EMBEDDING].data.clone(), w.tensors[TEXT_PROJ_WEIGHT].data.clone(), w.tensors[TEXT_PROJ_BIAS].data.clone()).expect("tower");
        let mut query = engine.embed("text", &ds.catalogue_text[0].1.joined()).expect("embeds");
        localrank_model::cold_start::unit(&mut query);
        let keys = localrank_model::cold_start::unit_rows(&w.tensors[ITEM_VECTORS].data, 8);
        let placement = choose_text_placement(&w, &ds).expect("chooses");
        assert!(lines.iter().any(|l| l == &placement.describe()), "{lines:?}");
        let options = placement.ndcg10.len() / localrank_model::cold_start::NEIGHBOUR_CHOICES.len();
        assert!(options == 1 || options == 2, "{placement:?}");
        let lenders = placement.lenders.mask(&ds);
        let near = localrank_model::cold_start::nearest(&keys, 8, &query, placement.k, Some(&lenders));
        let want = localrank_model::cold_start::borrow(&keys, 8, &near).unwrap_or(query.clone());
        for p in ["f32", "f16", "int8"] {
            let t = table(p);
            assert_eq!((t.len(), t.learned, t.ids[12].as_str()), (13, 12, "sku100"), "{p}");
            let max = want.iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(t.vector(12).iter().zip(&want).all(|(a, b)| (a - b).abs() <= max * 0.21 + 1e-5), "{p}: {:?} vs {want:?}", t.vector(12));
            // Neighbours cover the learned rows; the model reads back with its 12 items.
            assert!(t.neighbours.as_ref().is_some_and(|n| n.rows.len() == 12 * n.k));
            let (_, _, ids) = read_model_dir(&dir.join("export").join(p)).expect("reads");
            assert_eq!(ids, ds.item_ids);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
