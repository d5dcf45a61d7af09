//! Measures the catalogue size at which the sampled softmax (2,048 shared negatives, log-Q
//! corrected) becomes cheaper per training step than the full softmax. The result is
//! `localrank_model::auto::FULL_SOFTMAX_MAX_ITEMS`.
//!
//! `cargo run --profile native -p localrank-model --example softmax_cost [ITEMS...]`
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use localrank_model::auto::SAMPLED_NEGATIVES;
use localrank_model::encoder::{make_batch, IntentEncoder, Row};
use localrank_model::train::NegativeSampler;
use localrank_model::EncoderConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1024, 2048, 4096, 8192, 16384] } else { sizes };
    let (batch, len, steps) = (64, 50, 6);
    let device = localrank_model::cpu_device();
    println!("items  full ms/step  sampled({SAMPLED_NEGATIVES}) ms/step");
    for n in sizes {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let rows: Vec<Row> = (0..batch)
            .map(|_| {
                let items: Vec<u32> = (0..len).map(|_| rng.random_range(0..n as u32)).collect();
                let targets = items.iter().map(|&i| i64::from((i + 1) % n as u32)).collect();
                (items, vec![0; len], vec![2; len], targets)
            })
            .collect();
        let b = make_batch(&rows, len);
        let sampler = NegativeSampler::new(&vec![1; n]);
        let mut ms = [0.0; 2];
        for (k, sampled) in [false, true].into_iter().enumerate() {
            let ad = device.clone().autodiff();
            let mut model = IntentEncoder::new(&EncoderConfig::new(n), &ad);
            let mut optim = AdamWConfig::new().init();
            let mut total = 0.0;
            for step in 0..=steps {
                let t = Instant::now();
                let loss = if sampled { model.sampled_loss(&b, &sampler.draw(SAMPLED_NEGATIVES, &mut rng), &sampler.q, &ad, true) } else { model.loss(&b, &ad, true) };
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-3, model, grads);
                if step > 0 {
                    total += t.elapsed().as_secs_f64() * 1e3; // step 0 is warm-up
                }
            }
            ms[k] = total / steps as f64;
        }
        println!("{n:>6}  {:>12.1}  {:>12.1}", ms[0], ms[1]);
    }
}
