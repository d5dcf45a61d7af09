//! Which tensors cost NDCG@10 under int8 export: quantises one group at a time (item vectors;
//! the other embeddings; the attention and feed-forward matrices) and evaluates on test.
//!
//! `cargo run --profile native -p localrank-model --example int8_ablation -- PREPARED.json MODEL_DIR`
use burn::module::Module;
use localrank_model::data::{Dataset, SplitPart};
use localrank_model::eval::{evaluate, EvalOptions};
use localrank_model::export::{read_model_dir, round_trip, Precision};
use localrank_model::train::EncoderScorer;
use localrank_model::ModelWeights;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ds = Dataset::load(std::path::Path::new(&args[1])).expect("prepared data set");
    let (w, _, _) = read_model_dir(std::path::Path::new(&args[2])).expect("model dir");
    let device = localrank_model::cpu_device();
    let ndcg = |w: &ModelWeights| {
        let m = w.to_encoder(&device).expect("encoder").valid();
        let s = EncoderScorer { model: &m, max_len: w.config.max_len, device: device.clone(), gap_to_target: true };
        evaluate(&s, &ds, SplitPart::Test, None, &EvalOptions::default()).ndcg10
    };
    let base = ndcg(&w);
    let q = round_trip(&w, Precision::Int8).expect("int8");
    let groups: [(&str, fn(&str) -> bool); 4] = [
        ("all", |_| true),
        ("item_vectors", |n| n == "item_vectors"),
        ("other embeddings", |n| n.ends_with("_embedding")),
        ("block matrices", |n| n.starts_with("blocks.") && n.ends_with(".weight")),
    ];
    println!("f32 NDCG@10 {base:.4}");
    // The previous encoding (scale = max|row| / 127, no search), for comparison.
    let mut maxabs = w.clone();
    for t in maxabs.tensors.values_mut().filter(|t| t.shape.len() == 2) {
        for row in t.data.chunks_mut(t.shape[1]) {
            let s = row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            for v in row.iter_mut() {
                *v = if s > 0.0 { (*v / s).round().clamp(-127.0, 127.0) * s } else { 0.0 };
            }
        }
    }
    // Relative reconstruction error ‖x̂ − x‖ / ‖x‖ over all 2-D tensors, both encodings.
    let rel = |q: &ModelWeights| {
        let (mut e, mut n) = (0f64, 0f64);
        for (name, t) in w.tensors.iter().filter(|(_, t)| t.shape.len() == 2) {
            for (a, b) in t.data.iter().zip(&q.tensors[name].data) {
                e += f64::from(a - b).powi(2);
                n += f64::from(*a).powi(2);
            }
        }
        (e / n).sqrt()
    };
    println!("relative RMS error: max-abs {:.5}, searched scales {:.5}", rel(&maxabs), rel(&round_trip(&w, Precision::Int8).expect("int8")));
    let v = ndcg(&maxabs);
    println!("int8 max-abs scales (old) NDCG@10 {v:.4} ({:+.2}%)", (v / base - 1.0) * 100.0);
    for (name, pick) in groups {
        let mut mixed = w.clone();
        for (n, t) in &q.tensors {
            if pick(n) {
                mixed.tensors.insert(n.clone(), t.clone());
            }
        }
        let v = ndcg(&mixed);
        println!("int8 {name:<18} NDCG@10 {v:.4} ({:+.2}%)", (v / base - 1.0) * 100.0);
    }
}
