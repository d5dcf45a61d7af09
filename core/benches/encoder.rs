//! Native criterion benches of the CPU model path: the default model's forward pass over
//! 10/50 events, and cosine scoring of 1k/10k candidates. `cargo bench -p localrank-core --bench encoder`.
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use localrank_core::history::EventKind;
use localrank_core::model::fixture::{random_model, SplitMix};
use localrank_core::model::{EncoderStep, IntentEncoder, Precision};
use localrank_core::rank::cosine_scores;

fn bench(c: &mut Criterion) {
    let (bytes, json) = random_model(64, 2, 2, 50, 256, Precision::F32, 1).expect("fixture");
    let enc = IntentEncoder::load(&bytes, &json).expect("loads");
    let mut rng = SplitMix(2);
    let vectors: Vec<Vec<f32>> = (0..50).map(|_| (0..64).map(|_| rng.uniform()).collect()).collect();
    let steps: Vec<EncoderStep> = vectors.iter().enumerate().map(|(i, v)| EncoderStep { vector: v, kind: EventKind::ALL[i % 6], timestamp: 1e12 + i as f64 * 6e4 }).collect();
    for n in [10usize, 50] {
        c.bench_function(&format!("encode d64 b2 len{n}"), |b| b.iter(|| enc.encode(black_box(&steps[50 - n..]), 1e12 + 4e6).expect("encodes")));
    }
    c.bench_function("load d64 f32", |b| b.iter(|| IntentEncoder::load(black_box(&bytes), &json).expect("loads")));
    let intent: Vec<f32> = (0..64).map(|_| rng.uniform()).collect();
    for pool in [1_000usize, 10_000] {
        let items: Vec<f32> = (0..pool * 64).map(|_| rng.uniform()).collect();
        c.bench_function(&format!("cosine d64 pool{pool}"), |b| b.iter(|| cosine_scores(black_box(&intent), &items, 64)));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
