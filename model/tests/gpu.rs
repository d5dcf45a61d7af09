//! The `gpu` feature's smoke test: the encoder trains on the first GPU adapter wgpu finds and
//! learns what it learns on the CPU. `npm test` runs it with `--features gpu` on Mesa's
//! software Vulkan driver (lavapipe, installed by scripts/setup.sh), so the GPU build is
//! compiled and run on every change even on machines without a GPU.
#![cfg(feature = "gpu")]

mod common;

use burn::module::Module;

use localrank_model::data::SplitPart;
use localrank_model::device::{device, TrainDevice};
use localrank_model::eval::{evaluate, EvalOptions};
use localrank_model::train::{train, EncoderScorer};
use localrank_model::{cpu_device, EncoderConfig, TrainConfig};

#[test]
fn the_encoder_trains_on_the_gpu_and_scores_like_the_cpu() {
    let gpu = device(TrainDevice::Gpu).expect("a wgpu adapter (on a machine without a GPU: apt-get install mesa-vulkan-drivers)");
    let ds = common::cyclic_dataset(40, 24, 14);
    let mut enc = EncoderConfig::tiny(24);
    enc.dim = 16;
    enc.ffn_dim = 32;
    enc.max_len = 8;
    let cfg = TrainConfig { epochs: 25, batch_size: 16, learning_rate: 0.01, weight_decay: 0.0, patience: 25, seed: 5, windows_per_user: 2, validation_users: 0, sampled_negatives: 0, exclude_seen: false, item_init: Default::default(), ..TrainConfig::default() };
    let out = train(&ds, &enc, &cfg, &gpu, false, &mut |_| {}).expect("trains on the GPU");
    assert!(out.epochs[0].loss > out.epochs[out.epochs.len() - 1].loss, "loss falls: {:?}", out.epochs);
    assert!(out.best_validation.ndcg10 > 0.8, "learned the cycle on the GPU: {:?}", out.best_validation);
    out.weights.check().expect("finite, well-shaped weights");

    // The weights it learned score the same on the CPU (the browser's path) as on the GPU.
    let opts = EvalOptions::default();
    let on = |d: &burn::tensor::Device| {
        let model = out.weights.to_encoder(d).expect("encoder").valid();
        evaluate(&EncoderScorer { model: &model, max_len: enc.max_len, device: d.clone(), gap_to_target: true }, &ds, SplitPart::Test, None, &opts)
    };
    let (g, c) = (on(&gpu), on(&cpu_device()));
    assert!((g.ndcg10 - c.ndcg10).abs() < 1e-3, "GPU {g:?} vs CPU {c:?}");
}
