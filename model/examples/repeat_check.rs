//! Fits the learned repeat scorer on a prepared next-basket log and scores it alone — the
//! repeat part with weight 100, never-bought items by popularity (server 1 or 2), intent 0 — on
//! the validation and test baskets: the "scorer alone" rows of docs/training.md.
//!
//! `cargo run --profile native -p localrank-model --example repeat_check -- PREPARED.next-basket.json`
//! with `H` (hidden units), `EP` (epochs), `CUTS` (training baskets per household) and `SEED`
//! in the environment to vary the fit (defaults: the trainer's), and `ABLATE` a comma-separated
//! list of feature names to leave out (their inputs and weights set to 0).
use localrank_core::rank::{BlendWeights, RepeatParams};
use localrank_model::data::{Dataset, SplitPart};
use localrank_model::eval::next_basket::NextBasketSetup;
use localrank_core::rank::REPEAT_FEATURES;
use localrank_model::data::rebuy::rebuy_rates_before_last_baskets;
use localrank_model::eval::repeat_fit::{fit, repeat_examples, RepeatFitOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ds = Dataset::load(std::path::Path::new(&args[1])).expect("prepared");
    let env = |k: &str, d: f64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let d = RepeatFitOptions::default();
    let o = RepeatFitOptions { hidden: env("H", d.hidden as f64) as usize, epochs: env("EP", d.epochs as f64) as usize, cuts: env("CUTS", d.cuts as f64) as usize, seed: env("SEED", d.seed as f64) as u64, ..d };
    let t = std::time::Instant::now();
    let ablate: Vec<usize> = std::env::var("ABLATE")
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|n| REPEAT_FEATURES.iter().position(|f| *f == n).unwrap_or_else(|| panic!("no feature {n}")))
        .collect();
    let (mut xs, ys) = repeat_examples(&ds, &rebuy_rates_before_last_baskets(&ds, o.cuts), o.cuts);
    for x in &mut xs {
        for &j in &ablate {
            x[j] = 0.0;
        }
    }
    let mut learned = fit(&xs, &ys, &o);
    // A constant input standardises to 0 in the fit, so its weights never moved from their
    // random start: zero them so the real feature at scoring time adds nothing.
    let n = REPEAT_FEATURES.len();
    for &j in &ablate {
        learned.linear[j] = 0.0;
        for row in learned.hidden.chunks_exact_mut(n) {
            row[j] = 0.0;
        }
    }
    eprintln!("fit {:?} in {:.0}s", o, t.elapsed().as_secs_f64());
    let setup = NextBasketSetup::new(&ds).expect("setup");
    for server in [1.0, 2.0] {
        let w = BlendWeights { intent: 0.0, server, affinity: 0.0, neighbour: 0.0, repeat: 100.0 };
        for part in [SplitPart::Validation, SplitPart::Test] {
            let m = setup.evaluate(part, None, w, &RepeatParams::default(), Some(&learned), 256);
            println!("server {server} {part:?}: ndcg@10 {:.4} repeat {:.4} explore {:.4} recall@10 {:.4}", m.all.ndcg10, m.repeat.ndcg10, m.explore.ndcg10, m.all.recall10);
        }
    }
}
