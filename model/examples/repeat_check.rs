//! Fits the learned repeat scorer on a prepared next-basket log and scores it alone — the
//! repeat part with weight 100, never-bought items by popularity (server 1 or 2), intent 0 — on
//! the validation and test baskets: the "scorer alone" rows of docs/training.md.
//!
//! `cargo run --profile native -p localrank-model --example repeat_check -- PREPARED.next-basket.json`
//! with `H` (hidden units), `EP` (epochs), `CUTS` (training baskets per household) and `SEED`
//! in the environment to vary the fit (defaults: the trainer's).
use localrank_core::rank::{BlendWeights, RepeatParams};
use localrank_model::data::{Dataset, SplitPart};
use localrank_model::eval::next_basket::NextBasketSetup;
use localrank_model::eval::repeat_fit::{fit_repeat_scorer, RepeatFitOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ds = Dataset::load(std::path::Path::new(&args[1])).expect("prepared");
    let env = |k: &str, d: f64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let d = RepeatFitOptions::default();
    let o = RepeatFitOptions { hidden: env("H", d.hidden as f64) as usize, epochs: env("EP", d.epochs as f64) as usize, cuts: env("CUTS", d.cuts as f64) as usize, seed: env("SEED", d.seed as f64) as u64, ..d };
    let t = std::time::Instant::now();
    let learned = fit_repeat_scorer(&ds, &o).expect("scorer");
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
