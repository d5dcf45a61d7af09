//! Experiment (issue 12): does a learned next-basket scorer over features of the shopper's own
//! purchase history beat the hand-written repeat rule and GP-TopFreq?
//!
//! `cargo run --profile native -p localrank-model --example repeat_learned -- PREPARED.next-basket.json`
use std::collections::HashMap;

use localrank_model::baselines::{TopFreq, TopFreqKind};
use localrank_model::data::rebuy::rebuy_rates;
use localrank_model::data::{Dataset, SplitPart};
use localrank_model::eval::basket::evaluate_baskets;
use localrank_model::eval::Scorer;

const DAY: f64 = 86_400.0;
const HALF_LIVES: [f64; 4] = [7.0, 30.0, 90.0, 365.0];
const NF: usize = 16;

/// A user's baskets before a cut: (time in seconds, distinct items).
fn baskets(ds: &Dataset, u: usize, end: usize) -> Vec<(f64, Vec<u32>)> {
    let seq = &ds.sequences[u];
    let starts = &ds.basket_starts[u];
    let mut out = Vec::new();
    for (b, &s) in starts.iter().enumerate() {
        let s = s as usize;
        if s >= end {
            break;
        }
        let e = starts.get(b + 1).map_or(seq.len(), |&e| e as usize).min(end);
        let mut items: Vec<u32> = seq[s..e].iter().map(|e| e.item).collect();
        items.sort_unstable();
        items.dedup();
        out.push((seq[s].ts as f64, items));
    }
    out
}

struct Stats {
    pop: Vec<f32>,
    rebuy: Vec<f32>,
}

/// Features of every item the user bought, at `now`; and the shared features of a never-bought item.
fn features(hist: &[(f64, Vec<u32>)], now: f64, item: u32, st: &Stats, occ: Option<&[f64]>) -> [f32; NF] {
    let mut f = [0f32; NF];
    let nb = hist.len() as f64;
    f[0] = 1.0; // bias
    if std::env::var("NO_POP").is_err() {
        f[1] = st.pop[item as usize];
    }
    if std::env::var("NO_REBUY").is_err() {
        f[2] = st.rebuy[item as usize];
    }
    f[3] = (1.0 + nb).ln() as f32;
    if let Some(o) = occ {
        let n = o.len() as f64;
        f[4] = 1.0; // bought before
        f[5] = (1.0 + n).ln() as f32;
        for (k, h) in HALF_LIVES.iter().enumerate() {
            f[6 + k] = (1.0 + o.iter().map(|&t| 0.5f64.powf((now - t).max(0.0) / DAY / h)).sum::<f64>()).ln() as f32;
        }
        let last = *o.last().unwrap();
        let since = ((now - last).max(3600.0) / DAY) as f64;
        f[10] = (1.0 + since).ln() as f32;
        if o.len() >= 2 {
            let mut gaps: Vec<f64> = o.windows(2).map(|w| w[1] - w[0]).collect();
            gaps.sort_by(f64::total_cmp);
            let usual = gaps[gaps.len() / 2].max(3600.0) / DAY;
            let r = (since / usual).ln();
            f[11] = (-0.5 * r * r).exp() as f32;
            f[12] = r.clamp(-3.0, 3.0) as f32;
        }
        f[13] = (n / nb) as f32;
        let lastb = hist.last().map(|b| b.0).unwrap_or(0.0);
        f[14] = f32::from(u8::from(last >= lastb));
        let recent: usize = hist.iter().rev().take(5).filter(|b| b.1.binary_search(&item).is_ok()).count();
        f[15] = recent as f32 / 5.0;
    }
    f
}

fn occasions(hist: &[(f64, Vec<u32>)]) -> HashMap<u32, Vec<f64>> {
    let mut m: HashMap<u32, Vec<f64>> = HashMap::new();
    for (t, items) in hist {
        for &i in items {
            m.entry(i).or_default().push(*t);
        }
    }
    m
}

struct Mlp {
    hidden: usize,
    w1: Vec<f32>, // hidden × NF
    w2: Vec<f32>, // hidden + 1 (bias)
    lin: Vec<f32>, // NF: a linear skip
    mean: [f32; NF],
    sd: [f32; NF],
}

impl Mlp {
    fn norm(&self, x: &[f32; NF]) -> [f32; NF] {
        let mut z = [0f32; NF];
        for j in 0..NF {
            z[j] = (x[j] - self.mean[j]) / self.sd[j];
        }
        z[0] = 1.0;
        z
    }
    fn logit(&self, x: &[f32; NF]) -> f32 {
        let z = self.norm(x);
        let mut out = self.w2[self.hidden];
        for h in 0..self.hidden {
            let a: f32 = (0..NF).map(|j| self.w1[h * NF + j] * z[j]).sum();
            out += self.w2[h] * a.tanh();
        }
        out + (0..NF).map(|j| self.lin[j] * z[j]).sum::<f32>()
    }
}

fn fit(xs: &[[f32; NF]], ys: &[f32], ws: &[f32], hidden: usize, epochs: usize) -> Mlp {
    let n = xs.len() as f32;
    let mut mean = [0f32; NF];
    let mut sd = [0f32; NF];
    for x in xs {
        for j in 0..NF {
            mean[j] += x[j] / n;
        }
    }
    for x in xs {
        for j in 0..NF {
            sd[j] += (x[j] - mean[j]).powi(2) / n;
        }
    }
    for j in 0..NF {
        sd[j] = sd[j].sqrt().max(1e-3);
    }
    mean[0] = 0.0;
    sd[0] = 1.0;
    let mut seed = 12345u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 10_000) as f32 / 10_000.0 - 0.5
    };
    let mut m = Mlp { hidden, w1: (0..hidden * NF).map(|_| rnd() * 0.5).collect(), w2: (0..=hidden).map(|_| rnd() * 0.1).collect(), lin: vec![0.0; NF], mean, sd };
    let zs: Vec<[f32; NF]> = xs.iter().map(|x| m.norm(x)).collect();
    // Minibatch Adam over all parameters (flattened: w1, w2, lin), learning rate decayed linearly.
    let np = hidden * NF + hidden + 1 + NF;
    let (mut m1, mut m2) = (vec![0f32; np], vec![0f32; np]);
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let batch = 512usize;
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let steps_total = epochs * xs.len().div_ceil(batch);
    let mut step = 0usize;
    for ep in 0..epochs {
        for i in (1..order.len()).rev() {
            let j = ((rnd() + 0.5) * (i + 1) as f32) as usize % (i + 1);
            order.swap(i, j);
        }
        let mut loss = 0f64;
        for chunk in order.chunks(batch) {
            let mut grad = vec![0f32; np];
            for &i in chunk {
                let z = &zs[i];
                let mut acts = vec![0f32; hidden];
                let mut out = m.w2[hidden];
                for h in 0..hidden {
                    let a: f32 = (0..NF).map(|j| m.w1[h * NF + j] * z[j]).sum();
                    acts[h] = a.tanh();
                    out += m.w2[h] * acts[h];
                }
                out += (0..NF).map(|j| m.lin[j] * z[j]).sum::<f32>();
                let p = 1.0 / (1.0 + (-out).exp());
                loss += -f64::from(if ys[i] > 0.5 { p.max(1e-7).ln() } else { (1.0 - p).max(1e-7).ln() });
                let g = (p - ys[i]) * ws[i] / chunk.len() as f32;
                for h in 0..hidden {
                    let gh = g * m.w2[h] * (1.0 - acts[h] * acts[h]);
                    grad[hidden * NF + h] += g * acts[h];
                    for j in 0..NF {
                        grad[h * NF + j] += gh * z[j];
                    }
                }
                grad[hidden * NF + hidden] += g;
                for j in 0..NF {
                    grad[hidden * NF + hidden + 1 + j] += g * z[j];
                }
            }
            step += 1;
            let lr = 3e-3 * (1.0 - step as f32 / steps_total as f32).max(0.02);
            let (c1, c2) = (1.0 - b1.powi(step as i32), 1.0 - b2.powi(step as i32));
            for k in 0..np {
                m1[k] = b1 * m1[k] + (1.0 - b1) * grad[k];
                m2[k] = b2 * m2[k] + (1.0 - b2) * grad[k] * grad[k];
                let d = lr * (m1[k] / c1) / ((m2[k] / c2).sqrt() + eps);
                let p = if k < hidden * NF { &mut m.w1[k] } else if k < hidden * NF + hidden + 1 { &mut m.w2[k - hidden * NF] } else { &mut m.lin[k - hidden * NF - hidden - 1] };
                *p -= d;
            }
        }
        eprintln!("epoch {ep}: loss {:.5}", loss / xs.len() as f64);
    }
    m
}

struct Learned<'a> {
    m: &'a Mlp,
    st: &'a Stats,
    /// Never-bought items score this plus a popularity tie-break.
    new_offset: f32,
}

impl Scorer for Learned<'_> {
    fn score(&self, ds: &Dataset, users: &[usize], part: SplitPart) -> Vec<Vec<f32>> {
        users
            .iter()
            .map(|&u| {
                let (h, target) = ds.history_and_target(u, part);
                let hist = baskets(ds, u, h.len());
                let now = target.ts as f64;
                let occ = occasions(&hist);
                let mut s: Vec<f32> = (0..ds.num_items()).map(|i| self.new_offset + 0.5 * self.st.pop[i]).collect();
                for (&i, o) in &occ {
                    s[i as usize] = self.m.logit(&features(&hist, now, i, self.st, Some(o)));
                }
                s
            })
            .collect()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ds = Dataset::load(std::path::Path::new(&args[1])).expect("prepared next-basket data");
    let hidden: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let epochs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let cuts: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5);
    let pop = ds.train_popularity();
    let maxp = pop.iter().copied().max().unwrap_or(1) as f32;
    let st = Stats { pop: pop.iter().map(|&p| (1.0 + p as f32).ln() / (1.0 + maxp).ln()).collect(), rebuy: rebuy_rates(&ds) };
    // Training examples: each user's last `cuts` training baskets as targets.
    let (mut xs, mut ys, mut ws) = (Vec::new(), Vec::new(), Vec::new());
    for u in 0..ds.num_users() {
        let train_len = ds.train_sequence(u).len();
        let all = baskets(&ds, u, train_len);
        let first = all.len().saturating_sub(cuts).max(1);
        for k in first..all.len() {
            let hist = &all[..k];
            let (now, target) = (&all[k].0, &all[k].1);
            let occ = occasions(hist);
            for (&i, o) in &occ {
                xs.push(features(hist, *now, i, &st, Some(o)));
                ys.push(f32::from(u8::from(target.binary_search(&i).is_ok())));
                ws.push(1.0);
            }
        }
    }
    eprintln!("{} examples, {} positive", xs.len(), ys.iter().filter(|&&y| y > 0.5).count());
    let m = fit(&xs, &ys, &ws, hidden, epochs);
    println!("linear part: {:?}", m.lin.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>());
    let gp = TopFreq::fit(&ds, TopFreqKind::PersonalThenGlobal);
    let mut best = (f32::NEG_INFINITY, 0.0);
    for off in [-8.0f32, -6.0, -5.0, -4.5, -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0] {
        let l = evaluate_baskets(&Learned { m: &m, st: &st, new_offset: off }, &ds, SplitPart::Validation, None, 64);
        eprintln!("offset {off}: validation {:.4}", l.all.ndcg10);
        if l.all.ndcg10 as f32 > best.0 {
            best = (l.all.ndcg10 as f32, off);
        }
    }
    for part in [SplitPart::Validation, SplitPart::Test] {
        let g = evaluate_baskets(&gp, &ds, part, None, 64);
        let l = evaluate_baskets(&Learned { m: &m, st: &st, new_offset: best.1 }, &ds, part, None, 64);
        println!(
            "{part:?}: gp-topfreq NDCG@10 {:.4} (repeat {:.4} explore {:.4}); learned (hidden {hidden}, offset {}) {:.4} (repeat {:.4} explore {:.4}) = {:.3}x",
            g.all.ndcg10, g.repeat.ndcg10, g.explore.ndcg10, best.1, l.all.ndcg10, l.repeat.ndcg10, l.explore.ndcg10, l.all.ndcg10 / g.all.ndcg10
        );
    }
}
