pub mod eval;
pub mod eval_basket;
pub mod eval_new;
pub mod export;
pub mod lift;
pub mod prepare;
pub mod shapes;
pub mod synth;
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

        // The catalogue describes 10 of the 12 items and 2 products nobody has bought yet.
        let mut catalogue = String::from("sku,name,category,description\n");
        for i in 0..12 {
            if i != 3 && i != 7 {
                catalogue.push_str(&format!("sku{i},Item {i},{},\"size {i}\"\n", if i % 2 == 0 { "Dairy" } else { "Bakery" }));
            }
        }
        catalogue.push_str("sku100,New oat milk,Dairy,\nsku101,,,\n");
        let items = dir.join("catalogue.csv");
        std::fs::write(&items, catalogue).expect("write catalogue");
        let mut prepared: Vec<String> = Vec::new();
        let ds = super::prepare::run(&paths, &super::prepare::PrepareArgs { dataset: dataset.clone(), k_core: Some(2), first_only: None, protocol: Default::default(), items: Some(items.clone()) }, &mut |s: &str| prepared.push(s.to_string())).expect("prepares");
        assert_eq!((ds.num_users(), ds.num_items(), ds.num_events()), (24, 12, 240));
        let with_text = ds.item_text.iter().filter(|t| t.is_some()).count();
        assert_eq!(with_text, 10);
        let new: Vec<&str> = ds.catalogue_text.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(new, ["sku100"]);
        assert!(prepared.iter().any(|l| l.contains("text for 11 products from 12 rows") && l.contains("line 13: no text for item \"sku101\"")), "{prepared:?}");
        assert!(prepared.iter().any(|l| l.contains("item text: 10 of 12 items")), "{prepared:?}");
        assert!(prepared.iter().any(|l| l.contains("1 malformed") || l.contains("line 242")), "{prepared:?}");
        // The prepared file keeps the text.
        let reloaded = localrank_model::data::Dataset::load(&paths.prepared_as(&crate::paths::DatasetSpec::parse(&dataset), Default::default())).expect("reloads");
        assert_eq!(reloaded.item_text, ds.item_text);

        let train = super::train::TrainArgs {
            dataset: dataset.clone(), epochs: Some(2), dim: Some(8), blocks: Some(1), heads: Some(2), max_len: Some(6),
            dropout: Some(0.1), temperature: None, lr: Some(0.01), weight_decay: None, batch_size: Some(8), windows: Some(1),
            patience: None, negatives: None, validation_users: None, seed: 3, quiet: true, tune_budget: 0.0, trial_epochs: 1, exclude_seen: None, item_init: None, positions: None, text: None, text_loss: None, id_dropout: None, search_steps: None, time_budget: None, protocol: Default::default(), device: Default::default(),
        };
        // A GPU asked of a build without one: a clear error before any training.
        #[cfg(not(feature = "gpu"))]
        {
            let err = super::train::run(&paths, &super::train::TrainArgs { device: localrank_model::TrainDevice::Gpu, ..train.clone() }, &mut log).unwrap_err();
            assert!(err.to_string().contains("--features gpu"), "{err}");
        }
        super::train::run(&paths, &train, &mut log).expect("trains");

        let report = dir.join("report.json");
        super::eval::run(&paths, &super::eval::EvalArgs { dataset: dataset.clone(), report: Some(report.clone()), pool: 5, no_baselines: false, blend_only: false, keep_blend: false, neighbours: localrank_model::baselines::EXPORT_NEIGHBOURS, pool_bpr: false, protocol: Default::default(), time_budget: None, precision_predictions: 200, text_loss: None }, &mut log).expect("evaluates");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
        assert_eq!(r["dataset"], "shop");
        assert_eq!(r["protocol"], "leave-one-out/full");
        for model in ["localrank", "pop", "item-knn", "bpr", "tfidf"] {
            for metric in ["hr@10", "ndcg@10", "mrr@10", "hr@20", "ndcg@20"] {
                let v = r["models"][model][metric].as_f64().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&v), "{model} {metric} = {v}");
            }
        }
        assert!(r["homepage_pool"]["localrank_ndcg@10"].is_number());
        // The int8 export compared with f32 on each user's last events (24 users, ⌈200 / 24⌉ = 9).
        let many = &r["quantization_many_predictions"];
        assert_eq!(many["predictions_per_user"], 9);
        for variant in ["int8", "int8_encoder_only", "int8_item_vectors_only"] {
            let overlap = many[variant]["top10_overlap"].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&overlap), "{variant}: {overlap}");
            assert!(many[variant]["relative_ndcg@10_stderr"].as_f64().is_some_and(|e| e >= 0.0), "{variant}");
            assert!(many[variant]["predictions"].as_u64().is_some_and(|n| n > 24), "{variant}");
        }
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
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A grocery log with an order column that mixes numbers and strings, one-item baskets and
    /// a household with a single basket: 16 households shop weekly, each buying its staple
    /// every week and one other item, for ten weeks.
    fn grocery_log(dir: &std::path::Path) -> PathBuf {
        let mut s = String::from("user,item,timestamp,order_id\n");
        for u in 0..16 {
            for week in 0..10 {
                let t = 1_700_000_000 + week * 7 * 86_400 + u * 60;
                let order = if week % 2 == 0 { format!("{}", u * 100 + week) } else { format!("o-{u}-{week}") };
                s.push_str(&format!("h{u},staple{},{t},{order}\n", u % 3));
                if week % 3 != 2 {
                    s.push_str(&format!("h{u},sku{},{t},{order}\n", (u + week) % 8));
                }
            }
        }
        s.push_str("lonely,staple0,1700000000,9999\n");
        s.push_str("h1,sku1,never,5\n");
        let p = dir.join("grocery.csv");
        std::fs::write(&p, s).expect("write log");
        p
    }

    #[test]
    fn new_arrivals_eval_trains_without_them_and_reports_the_content_baseline() {
        let dir = std::env::temp_dir().join(format!("localrank-cli-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        // 40 shoppers browse 10 older products for 8 minutes; 20 minutes in, half of them buy
        // one of two products nobody had seen before (the last 10 % of the time span).
        let mut log_csv = String::from("user,item,timestamp,kind\n");
        for u in 0..40 {
            for t in 0..8 {
                log_csv.push_str(&format!("u{u},old{},{},view\n", (u + t * 3) % 10, 1_700_000_000 + t * 60));
            }
            let last = if u % 2 == 0 { format!("new{}", u % 4 / 2) } else { format!("old{}", u % 10) };
            log_csv.push_str(&format!("u{u},{last},{},purchase\n", 1_700_000_000 + 1200));
        }
        let log_path = dir.join("shop.csv");
        std::fs::write(&log_path, log_csv).expect("write log");
        let mut catalogue = String::from("sku,title,category\n");
        for i in 0..10 {
            catalogue.push_str(&format!("old{i},Product {i},{}\n", if i % 2 == 0 { "Dairy" } else { "Bakery" }));
        }
        catalogue.push_str("new0,Oat milk,Dairy\nnew1,Rye loaf,Bakery\n");
        let items = dir.join("catalogue.csv");
        std::fs::write(&items, catalogue).expect("write catalogue");
        let paths = Paths::new(Some(dir.join("cache")));
        let dataset = log_path.to_string_lossy().to_string();
        let mut lines: Vec<String> = Vec::new();
        let mut log = |s: &str| lines.push(s.to_string());
        let eval = super::eval::EvalArgs { dataset: dataset.clone(), report: Some(dir.join("new.json")), pool: 5, no_baselines: false, blend_only: false, keep_blend: false, neighbours: 0, pool_bpr: false, protocol: super::eval::EvalProtocol::NewArrivals, time_budget: None, precision_predictions: 0, text_loss: None };

        // Without product text there is nothing to describe a new arrival by.
        super::prepare::run(&paths, &super::prepare::PrepareArgs { dataset: dataset.clone(), k_core: Some(1), first_only: None, protocol: Default::default(), items: None }, &mut log).expect("prepares");
        let err = super::eval::run(&paths, &eval, &mut log).unwrap_err();
        assert!(err.to_string().contains("no product text"), "{err}");

        super::prepare::run(&paths, &super::prepare::PrepareArgs { dataset: dataset.clone(), k_core: Some(1), first_only: None, protocol: Default::default(), items: Some(items) }, &mut log).expect("prepares");
        // A small trained model: the held-out model takes its settings.
        let train = super::train::TrainArgs {
            dataset: dataset.clone(), epochs: Some(2), dim: Some(8), blocks: Some(1), heads: Some(2), max_len: Some(6),
            dropout: Some(0.1), temperature: None, lr: Some(0.01), weight_decay: None, batch_size: Some(8), windows: Some(1),
            patience: None, negatives: None, validation_users: None, seed: 3, quiet: true, tune_budget: 0.0, trial_epochs: 1, exclude_seen: None, item_init: None, positions: None, text: None, text_loss: None, id_dropout: None, search_steps: None, time_budget: None, protocol: Default::default(), device: Default::default(),
        };
        super::train::run(&paths, &train, &mut log).expect("trains");
        let bad = super::eval::EvalArgs { text_loss: Some(-1.0), ..eval.clone() };
        let err = super::eval::run(&paths, &bad, &mut log).unwrap_err();
        assert!(err.to_string().contains("--text-loss must be a number >= 0"), "{err}");
        super::eval::run(&paths, &eval, &mut log).expect("evaluates");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("new.json")).expect("report")).expect("json");
        assert_eq!(r["protocol"], "new-arrivals");
        assert_eq!((r["new_items"].as_u64(), r["new_items_with_text"].as_u64(), r["test_users"].as_u64()), (Some(2), Some(2), Some(20)));
        assert!(lines.iter().any(|l| l.contains("the settings of the dataset's trained model")), "{lines:?}");
        for model in ["localrank", "id-only", "tfidf", "pop"] {
            for metric in ["hr@10", "ndcg@10", "ndcg@20"] {
                let v = r["models"][model][metric].as_f64().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&v), "{model} {metric} = {v}");
            }
        }
        assert!(r["models"]["tfidf"]["median_rank"].as_u64().is_some_and(|m| (1..=12).contains(&m)), "{}", r["models"]["tfidf"]);
        // The ID-only model ranks both new arrivals below all 10 older products, of which the
        // shopper's history removes at most 8: the target is at rank 3 or 4 at best.
        assert!(r["models"]["id-only"]["ndcg@10"].as_f64().is_some_and(|v| v <= 0.5), "{}", r["models"]["id-only"]);
        assert!(r["models"]["id-only"]["median_rank"].as_u64().is_some_and(|m| (3..=4).contains(&m)), "{}", r["models"]["id-only"]);
        // The text-tower model places the new arrivals by their words (a rank among all 12).
        assert!(r["models"]["localrank"]["median_rank"].as_u64().is_some_and(|m| (1..=12).contains(&m)), "{}", r["models"]["localrank"]);
        assert!(r["localrank_training"]["best_epoch"].as_u64().is_some_and(|e| e >= 1), "{r}");
        // Every model also ranks the target among the 2 new arrivals only; the models that
        // rank older products report their warm leave-one-out NDCG@10 too.
        assert_eq!(r["split"], "first-new-arrival");
        for model in ["localrank", "id-only", "tfidf", "pop", "text-content-last20", "text-content-all", "localrank+content0.5", "localrank+content1", "localrank+tfidf0.5", "localrank+tfidf1"] {
            let among = &r["models"][model]["among_new"];
            assert!(among["median_rank"].as_u64().is_some_and(|m| (1..=2).contains(&m)), "{model}: {among}");
            assert!(among["hr@10"].as_f64() == Some(1.0), "2 candidates are always in the top 10: {model}: {among}");
            let warm = r["models"][model]["warm_ndcg@10"].as_f64();
            let ranks_old_items = ["localrank", "id-only"].contains(&model) || model.starts_with("localrank+");
            assert_eq!(warm.is_some_and(|w| (0.0..=1.0).contains(&w)), ranks_old_items, "{model}: {}", r["models"][model]);
        }

        // The standard report of the trained model (it has a text tower: every product has
        // text) says how far a search for the test item's category moves it.
        let mj: serde_json::Value = serde_json::from_slice(&std::fs::read(paths.artifacts(&crate::paths::DatasetSpec::parse(&dataset)).join("model.json")).expect("model.json")).expect("json");
        assert_eq!(mj["text"]["buckets"], 16384, "the derived settings add a text tower: {}", mj["text"]);
        let loo = super::eval::EvalArgs { report: Some(dir.join("loo.json")), no_baselines: true, protocol: super::eval::EvalProtocol::LeaveOneOut, ..eval };
        super::eval::run(&paths, &loo, &mut |_: &str| {}).expect("evaluates");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("loo.json")).expect("report")).expect("json");
        let steers = &r["search_steers"];
        assert_eq!(steers["users"], 40, "every test target has a category: {steers}");
        for key in ["median_rank_without", "median_rank_with"] {
            assert!(steers[key].as_u64().is_some_and(|m| (1..=12).contains(&m)), "{key}: {steers}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn next_basket_prepare_train_eval_export_on_a_grocery_log() {
        use localrank_model::data::Protocol;
        let dir = std::env::temp_dir().join(format!("localrank-cli-nb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let dataset = grocery_log(&dir).to_string_lossy().to_string();
        let paths = Paths::new(Some(dir.join("cache")));
        let mut lines: Vec<String> = Vec::new();
        let mut log = |s: &str| lines.push(s.to_string());
        let nb = Protocol::NextBasket;

        let prep = super::prepare::PrepareArgs { dataset: dataset.clone(), k_core: Some(1), first_only: None, protocol: nb, items: None };
        let ds = super::prepare::run(&paths, &prep, &mut log).expect("prepares");
        assert_eq!((ds.num_users(), ds.protocol()), (16, nb), "the single-basket household is dropped");
        assert!(paths.prepared_as(&crate::paths::DatasetSpec::parse(&dataset), nb).to_string_lossy().ends_with("grocery.next-basket.json"));
        let err = super::prepare::run(&paths, &super::prepare::PrepareArgs { first_only: Some(true), ..prep.clone() }, &mut log).unwrap_err();
        assert!(err.to_string().contains("next-basket"), "{err}");

        let train = super::train::TrainArgs {
            dataset: dataset.clone(), epochs: Some(2), dim: Some(8), blocks: Some(1), heads: Some(2), max_len: Some(6),
            dropout: Some(0.1), temperature: None, lr: Some(0.01), weight_decay: None, batch_size: Some(8), windows: Some(1),
            patience: None, negatives: None, validation_users: None, seed: 3, quiet: true, tune_budget: 0.0, trial_epochs: 1, exclude_seen: None, item_init: None, positions: None, text: None, text_loss: None, id_dropout: None, search_steps: None, time_budget: None, protocol: nb, device: Default::default(),
        };
        super::train::run(&paths, &train, &mut log).expect("trains");
        let artifacts = paths.artifacts_as(&crate::paths::DatasetSpec::parse(&dataset), nb);
        let mj: serde_json::Value = serde_json::from_slice(&std::fs::read(artifacts.join("model.json")).expect("model.json")).expect("json");
        assert_eq!(mj["metrics"]["settings"]["training"]["exclude_seen"], false, "repeats stay in the training softmax");

        let report = dir.join("nb.json");
        let eval = super::eval::EvalArgs { dataset: dataset.clone(), report: Some(report.clone()), pool: 5, no_baselines: false, blend_only: false, keep_blend: false, neighbours: 0, pool_bpr: false, protocol: nb.into(), time_budget: None, precision_predictions: 0, text_loss: None };
        super::eval::run(&paths, &eval, &mut log).expect("evaluates");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
        assert_eq!(r["protocol"], "next-basket");
        for model in ["localrank", "g-topfreq", "p-topfreq", "gp-topfreq", "item-knn"] {
            for metric in ["ndcg@10", "recall@10", "hr@10", "ndcg@20", "recall@20", "hr@20"] {
                for part in [&r["models"][model], &r["models"][model]["repeat"], &r["models"][model]["explore"]] {
                    let v = part[metric].as_f64().unwrap_or(-1.0);
                    assert!((0.0..=1.0).contains(&v), "{model} {metric} = {v}");
                }
            }
        }
        // The staple is bought every week: the repeat-aware scorers find it.
        assert!(r["models"]["gp-topfreq"]["repeat"]["hr@10"].as_f64().is_some_and(|v| v > 0.9), "{}", r["models"]["gp-topfreq"]);
        assert!(r["models"]["localrank"]["repeat"]["hr@10"].as_f64().is_some_and(|v| v > 0.9), "{}", r["models"]["localrank"]);
        // The tuned blend and repeat parameters are in model.json, and export ships them.
        let (_, tuned, _) = localrank_model::export::read_model_dir(&artifacts).expect("artifacts");
        assert_eq!(serde_json::to_value(tuned.config.blend).expect("json"), r["tuning"]["blend"]);
        assert_eq!(serde_json::to_value(tuned.config.repeat).expect("json"), r["tuning"]["repeat"]);
        let out = dir.join("export");
        let export = super::export::ExportArgs { dataset: dataset.clone(), out: Some(out.clone()), precision: "f32".into(), random: false, seed: 1, items: 4, dim: 8, heads: 2, blocks: 1, max_len: 4, neighbours: 3, protocol: nb };
        super::export::run(&paths, &export, &mut log).expect("exports");
        let json = std::fs::read_to_string(out.join("model.json")).expect("model.json");
        let engine = localrank_core::model::ModelConfig::from_json(&json).expect("engine reads it");
        assert_eq!((engine.blend, engine.repeat), (tuned.config.blend, tuned.config.repeat));
        // The learned repeat scorer was fitted (a staple re-bought every week gives enough
        // examples) and, whether or not it won on validation, export ships what eval chose.
        assert!(lines.iter().any(|l| l.contains("learned repeat scorer: fitted")), "{lines:?}");
        assert_eq!(r["tuning"]["repeat_part"], if tuned.config.repeat_scorer.is_some() { "learned" } else { "rule" });
        assert_eq!(engine.repeat_scorer, tuned.config.repeat_scorer);
        assert!(lines.iter().any(|l| l.contains("line ")), "the bad row is reported by line: {lines:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
