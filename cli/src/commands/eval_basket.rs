//! `localrank eval --protocol next-basket`: localrank's next-basket scorer (the trained model's
//! intent blended with the engine's repeat part, weights and repeat parameters tuned on the
//! validation baskets and written into model.json) against G-, P-, GP-TopFreq and item-kNN on
//! the same split, full ranking, by the same metric code; each with its repeat/explore split.
use std::time::Instant;

use burn::module::Module;
use localrank_core::rank::BlendWeights;
use localrank_model::baselines::{ItemKnn, TopFreq, TopFreqKind};
use localrank_model::data::{Dataset, Protocol, SplitPart};
use localrank_model::eval::basket::{evaluate_baskets, BasketCase, SplitMetrics};
use localrank_model::eval::next_basket::{ForeignModelScorer, NextBasketSetup};
use localrank_model::eval::Scorer;
use localrank_model::export::{read_model_dir, set_blend, set_repeat};
use localrank_model::train::EncoderScorer;
use serde_json::json;

use crate::commands::eval::EvalArgs;
use crate::commands::prepare::load_or_prepare_as;
use crate::error::CliError;
use crate::paths::{DatasetSpec, Paths};

/// Users scored per batch (one intent batch through the encoder).
const BATCH: usize = 128;

fn line(name: &str, m: &SplitMetrics) -> String {
    format!(
        "{name:>28}: NDCG@10 {:.4}  Recall@10 {:.4}  HR@10 {:.4}  NDCG@20 {:.4}  Recall@20 {:.4} | repeat NDCG@10 {:.4} | explore NDCG@10 {:.4}  Recall@20 {:.4}",
        m.all.ndcg10, m.all.recall10, m.all.hr10, m.all.ndcg20, m.all.recall20, m.repeat.ndcg10, m.explore.ndcg10, m.explore.recall20
    )
}

/// Test-basket facts for the report: sizes and how much of them is repeat purchases.
fn basket_facts(ds: &Dataset) -> serde_json::Value {
    let (mut items, mut repeats, mut with_new) = (0usize, 0usize, 0usize);
    for u in 0..ds.num_users() {
        let case = BasketCase::of(ds, u, SplitPart::Test);
        items += case.targets.len();
        repeats += case.repeat_targets.len();
        with_new += usize::from(!case.explore_targets.is_empty());
    }
    let baskets: usize = (0..ds.num_users()).map(|u| ds.num_baskets(u)).sum();
    json!({
        "households": ds.num_users(),
        "baskets": baskets,
        "test_basket_mean_distinct_items": items as f64 / ds.num_users().max(1) as f64,
        "test_repeat_share": repeats as f64 / items.max(1) as f64,
        "test_baskets_with_a_new_item": with_new,
    })
}

pub fn run(paths: &Paths, a: &EvalArgs, log: &mut dyn FnMut(&str)) -> Result<(), CliError> {
    let spec = DatasetSpec::parse(&a.dataset);
    let ds = load_or_prepare_as(paths, &a.dataset, Protocol::NextBasket, log)?;
    let dir = paths.artifacts_as(&spec, Protocol::NextBasket);
    if !dir.join("model.json").exists() {
        return Err(CliError::Usage(format!(
            "no next-basket model in {}; train one first: localrank train --dataset {} --protocol next-basket",
            dir.display(),
            a.dataset
        )));
    }
    let (weights, _, ids) = read_model_dir(&dir)?;
    if ids != ds.item_ids {
        return Err(CliError::Usage(format!("the model in {} was trained on a different item set; retrain it", dir.display())));
    }
    let facts = basket_facts(&ds);
    log(&format!("{}: next-basket split {facts}", ds.name));
    let device = localrank_model::cpu_device();
    let model = weights.to_encoder(&device)?.valid();
    let encoder = EncoderScorer { model: &model, max_len: weights.config.max_len, device: device.clone(), gap_to_target: true };
    let setup = NextBasketSetup::new(&ds)?;

    let t = Instant::now();
    let learned = setup.fit_repeat_scorer();
    log(&format!(
        "learned repeat scorer: {} ({:.0}s)",
        if learned.is_some() { "fitted on the training baskets" } else { "not fitted (too few repeat purchases)" },
        t.elapsed().as_secs_f64()
    ));
    let tuning = setup.tune(Some(&encoder), learned.as_ref(), BATCH);
    let (w, params) = (tuning.blend, tuning.repeat);
    let scorer = tuning.repeat_scorer.as_ref();
    log(&format!(
        "tuned on validation ({} grid points, {:.0}s): intent {} / server {} / affinity {} / repeat {}, {} → NDCG@10 {:.4} (engine defaults {:.4}, intent alone {:.4})",
        tuning.grid_points,
        t.elapsed().as_secs_f64(),
        w.intent,
        w.server,
        w.affinity,
        w.repeat,
        if scorer.is_some() {
            "the learned repeat scorer".to_string()
        } else {
            format!("the rule: half-life {} days, due mix {}, re-buy mix {}", params.half_life_days, params.due_mix, params.rebuy_mix)
        },
        tuning.validation_tuned,
        tuning.validation_default,
        tuning.validation_intent_only
    ));
    if !a.keep_blend {
        set_blend(&dir, w, None)?;
        set_repeat(&dir, params, tuning.repeat_scorer.clone())?;
        log(&format!("blend and repeat parameters written to {} (re-run `localrank export --protocol next-basket` to ship them)", dir.join("model.json").display()));
    }

    let mut models = serde_json::Map::new();
    let mut record = |name: &str, m: SplitMetrics, log: &mut dyn FnMut(&str)| {
        log(&line(name, &m));
        models.insert(name.to_string(), serde_json::to_value(m).unwrap_or_default());
    };
    let t = Instant::now();
    record("localrank", setup.evaluate(SplitPart::Test, Some(&encoder), w, &params, scorer, BATCH), log);
    log(&format!("  (localrank test scoring {:.1}s)", t.elapsed().as_secs_f64()));
    let mut variants = serde_json::Map::new();
    let mut variant = |name: &str, m: SplitMetrics, log: &mut dyn FnMut(&str)| {
        log(&line(name, &m));
        variants.insert(name.to_string(), serde_json::to_value(m).unwrap_or_default());
    };
    variant("intent alone", evaluate_baskets(&encoder, &ds, SplitPart::Test, None, BATCH), log);
    variant("tuned blend without the intent", setup.evaluate(SplitPart::Test, None, BlendWeights { intent: 0.0, ..w }, &params, scorer, BATCH), log);
    let defaults = BlendWeights { neighbour: 0.0, ..BlendWeights::default() };
    variant("engine default weights and rule", setup.evaluate(SplitPart::Test, Some(&encoder), defaults, &Default::default(), None, BATCH), log);

    if !a.no_baselines {
        for kind in [TopFreqKind::Global, TopFreqKind::Personal, TopFreqKind::PersonalThenGlobal] {
            record(kind.name(), evaluate_baskets(&TopFreq::fit(&ds, kind), &ds, SplitPart::Test, None, BATCH), log);
        }
        let t = Instant::now();
        record("item-knn", evaluate_baskets(&ItemKnn::fit(&ds, 100), &ds, SplitPart::Test, None, BATCH), log);
        log(&format!("  (item-kNN fit+eval {:.1}s)", t.elapsed().as_secs_f64()));
    }

    // Today's model (trained on the leave-one-out split: first purchases only) on the same
    // baskets, for the explore comparison the issue asks for.
    let loo_dir = paths.artifacts_as(&spec, Protocol::LeaveOneOut);
    let leave_one_out = match read_model_dir(&loo_dir) {
        Ok((loo_weights, loo_json, loo_ids)) => {
            let loo_model = loo_weights.to_encoder(&device)?.valid();
            let foreign = ForeignModelScorer::new(&loo_model, loo_weights.config.max_len, device.clone(), &loo_ids, &ds);
            let m = evaluate_baskets(&foreign as &dyn Scorer, &ds, SplitPart::Test, None, BATCH);
            log(&line("leave-one-out model", &m));
            log(&format!("  (it knows {:.1}% of these items; validation NDCG@10 on its own split {})", foreign.coverage() * 100.0, loo_json.metrics["validation"]["ndcg@10"]));
            json!({ "dir": loo_dir, "metrics": m, "item_coverage": foreign.coverage(), "its_validation": loo_json.metrics["validation"], "its_best_epoch": loo_json.metrics["best_epoch"] })
        }
        Err(e) => {
            log(&format!("no leave-one-out model to compare with ({e})"));
            serde_json::Value::Null
        }
    };

    let mut report = json!({
        "dataset": ds.name,
        "protocol": Protocol::NextBasket.as_str(),
        "notes": [
            "per household: last basket = test, the one before = validation, earlier baskets = training; repeats kept",
            "full ranking over all items, history items kept; metrics over the basket's distinct items: Recall@k, HR@k, NDCG@k (DCG of hits / ideal DCG of min(|basket|, k))",
            "repeat: the same ranking against the basket items bought before; explore: the ranking with previously bought items removed, against the new items (Li et al., TOIS 2023)",
            "localrank: the engine's BlendWeights::score over intent (model cosine), server (training popularity, min-max), category affinity and the engine's repeat part; neighbour part 0; tuned on validation",
        ],
        "split": facts,
        "items": ds.num_items(),
        "events": ds.num_events(),
        "prepared": ds.notes,
        "models": models,
        "localrank_variants": variants,
        "tuning": tuning,
        "leave_one_out_model": leave_one_out,
    });
    super::eval::add_training_facts(&mut report, &dir);
    let report_path = a.report.clone().unwrap_or_else(|| paths.cache.join("reports").join(format!("{}.json", spec.stem(Protocol::NextBasket))));
    super::eval::write_report(&report_path, &report)?;
    log(&format!("report: {}", report_path.display()));
    Ok(())
}
