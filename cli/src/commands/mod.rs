pub mod eval;
pub mod export;
pub mod prepare;
pub mod shapes;
pub mod train;

#[cfg(test)]
mod pipeline_tests {
    //! The whole CLI pipeline on a tiny generated store log: prepare, train, eval, export.
    use std::path::PathBuf;

    use crate::paths::Paths;

    fn store_log(dir: &std::path::Path) -> PathBuf {
        // 24 users walk a cycle over 12 items (one event a minute), plus one malformed row.
        let mut s = String::from("user,item,timestamp,kind\n");
        for u in 0..24 {
            for t in 0..10 {
                s.push_str(&format!("u{u},sku{},{},{}\n", (u * 5 + t) % 12, 1_700_000_000 + t * 60, if t % 3 == 0 { "view" } else { "purchase" }));
            }
        }
        s.push_str("u0,sku1,not-a-time,view\n");
        let p = dir.join("shop.csv");
        std::fs::write(&p, s).expect("write log");
        p
    }

    #[test]
    fn prepare_train_eval_export_on_a_store_log() {
        let dir = std::env::temp_dir().join(format!("localrank-cli-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let log_path = store_log(&dir);
        let paths = Paths::new(Some(dir.join("cache")));
        let dataset = log_path.to_string_lossy().to_string();
        let mut lines: Vec<String> = Vec::new();
        let mut log = |s: &str| lines.push(s.to_string());

        let ds = super::prepare::run(&paths, &super::prepare::PrepareArgs { dataset: dataset.clone(), k_core: Some(2), first_only: None, protocol: Default::default() }, &mut log).expect("prepares");
        assert_eq!((ds.num_users(), ds.num_items(), ds.num_events()), (24, 12, 240));

        let train = super::train::TrainArgs {
            dataset: dataset.clone(), epochs: Some(2), dim: Some(8), blocks: Some(1), heads: Some(2), max_len: Some(6),
            dropout: Some(0.1), temperature: None, lr: Some(0.01), weight_decay: None, batch_size: Some(8), windows: Some(1),
            patience: None, negatives: None, validation_users: None, seed: 3, quiet: true, tune_budget: 0.0, trial_epochs: 1, exclude_seen: None, time_budget: None, protocol: Default::default(),
        };
        super::train::run(&paths, &train, &mut log).expect("trains");

        let report = dir.join("report.json");
        super::eval::run(&paths, &super::eval::EvalArgs { dataset: dataset.clone(), report: Some(report.clone()), pool: 5, no_baselines: false, blend_only: false, keep_blend: false, neighbours: localrank_model::baselines::EXPORT_NEIGHBOURS, pool_bpr: false }, &mut log).expect("evaluates");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
        assert_eq!(r["dataset"], "shop");
        assert_eq!(r["protocol"], "leave-one-out/full");
        for model in ["localrank", "pop", "item-knn", "bpr"] {
            for metric in ["hr@10", "ndcg@10", "mrr@10", "hr@20", "ndcg@20"] {
                let v = r["models"][model][metric].as_f64().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&v), "{model} {metric} = {v}");
            }
        }
        assert!(r["homepage_pool"]["localrank_ndcg@10"].is_number());
        // Blend weights tuned on validation, checked on test, and written into model.json.
        let tuned: localrank_core::rank::BlendWeights = serde_json::from_value(r["blend"]["validation"]["tuned"].clone()).expect("tuned weights in the report");
        assert!(r["blend"]["test"]["tuned_weights"]["metrics"]["ndcg@10"].is_number());
        let (_, artifacts, _) = localrank_model::export::read_model_dir(&paths.artifacts(&crate::paths::DatasetSpec::parse(&dataset))).expect("artifacts");
        assert_eq!(artifacts.config.blend, Some(tuned));
        assert!(r["train_seconds"].as_f64().is_some_and(|s| s > 0.0));
        // The settings it was trained with (explicit flags win over derived values) are recorded.
        let mj: serde_json::Value = serde_json::from_slice(&std::fs::read(paths.artifacts(&crate::paths::DatasetSpec::parse(&dataset)).join("model.json")).expect("model.json")).expect("json");
        assert_eq!(mj["metrics"]["settings"]["encoder"]["max_len"], 6);
        assert_eq!(mj["metrics"]["settings"]["training"]["learning_rate"], 0.01);
        assert_eq!(mj["metrics"]["settings"]["tuning"]["shape"]["users"], 24);
        assert!(std::fs::read_to_string(report.with_extension("svg")).expect("svg").contains("<svg"));

        let out = dir.join("export");
        let export = super::export::ExportArgs { dataset: dataset.clone(), out: Some(out.clone()), precision: "all".into(), random: false, seed: 1, items: 4, dim: 8, heads: 2, blocks: 1, max_len: 4, neighbours: 3, protocol: Default::default() };
        super::export::run(&paths, &export, &mut log).expect("exports");
        for p in ["f32", "f16", "int8"] {
            let (w, mj, ids) = localrank_model::export::read_model_dir(&out.join(p)).expect("readable export");
            assert_eq!((ids.len(), w.config.dim, mj.dataset.as_str()), (12, 8, "shop"));
            assert_eq!(mj.config.blend, Some(tuned), "export ships the tuned weights");
            // …in a model.json the engine accepts, tuned weights included.
            let json = std::fs::read_to_string(out.join(p).join("model.json")).expect("model.json");
            assert_eq!(localrank_core::model::ModelConfig::from_json(&json).expect("engine reads it").blend, Some(tuned));
            // The item table carries each item's co-occurrence neighbours (at most 3 here).
            let n = localrank_model::export::read_neighbours(&out.join(p)).expect("readable").expect("neighbours exported");
            assert_eq!(n.k, 3);
            assert!((0..12).any(|row| n.of(row).count() > 0));
        }
        let random = super::export::ExportArgs { random: true, out: Some(dir.join("random")), precision: "f32".into(), seed: 4, ..export };
        super::export::run(&paths, &random, &mut log).expect("random export");
        let (w, _, ids) = localrank_model::export::read_model_dir(&dir.join("random")).expect("readable");
        assert_eq!((w.config.num_items, ids.len()), (4, 4));
        assert!(lines.iter().any(|l| l.contains("1 malformed") || l.contains("line 242")), "{lines:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
