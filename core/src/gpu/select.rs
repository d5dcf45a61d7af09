//! Backend choice for the model: `auto | webgpu | cpu`, with the CPU as the fallback for every
//! WebGPU failure, and every result saying which backend actually produced it.
//!
//! ## When `auto` uses WebGPU
//! `auto` never waits for WebGPU to start: until `warmup` (or a `webgpu` call) has created the
//! device and pipelines, it computes on the CPU. `warmup_calibrated` (what the JS
//! `engine.warmup()` runs) then times one synthetic call of [`CALIBRATION_POOL`] candidates
//! and a full `max_len` history on each backend; `auto` uses WebGPU for pools of at least that
//! size only if WebGPU was faster there, on this device. No calibration, no WebGPU for `auto`.
//!
//! Measured here (headless Chromium 156, SwiftShader — a CPU Vulkan — on a 2-core machine
//! under a load average of ~5; default model d=64, 2 blocks; medians of the `model/crossover`
//! case in benches/browser/cases.js: forward + cosine + top-10 per call, ms; CPU column for the
//! default scalar build / a `-C target-feature=+simd128` build):
//!
//! | history | pool   | CPU scalar / SIMD | WebGPU |
//! |---------|--------|-------------------|--------|
//! | 10      | 100    | 0.4 / 0.2         | 12.4   |
//! | 10      | 10 000 | 1.9 / 0.9         | 24.6   |
//! | 10      | 50 000 | 12.4 / 8.7        | 92     |
//! | 50      | 100    | 1.6 / 1.6         | 21.7   |
//! | 50      | 10 000 | 2.9 / 1.7         | 46.3   |
//! | 50      | 50 000 | 12.9 / 12.8       | 92     |
//!
//! There is no crossover on SwiftShader: the CPU wins at every size measured (a software GPU
//! runs the same arithmetic on the same cores, plus dispatch and readback overhead), so `auto`
//! stays on the CPU here. On a hardware GPU the calibration decides; none was available to
//! measure.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use super::{Backend, GpuDevice, GpuError, GpuOutput, NoGpu};
use crate::model::{EncoderState, EncoderStep, IntentEncoder, ModelError};
// One cosine for every CPU path (SIMD128 in the wasm build); the WGSL kernel is tested
// against it.
use crate::rank::{cosine_scores, cosine_scores_normed};

/// Pool size of the warm-up calibration, and the smallest pool `auto` sends to WebGPU (when
/// the calibration found WebGPU faster at this size). Below it the CPU's ~2 ms is hard to beat
/// once a GPU round trip (submit + map) is paid.
pub const CALIBRATION_POOL: usize = 10_000;

/// What the warm-up measured: the median of 3 synthetic calls per backend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Calibration {
    pub pool_size: usize,
    pub history_length: usize,
    pub cpu_ms: f64,
    pub webgpu_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

/// Intent, cosine scores and top-k of one call, and who computed them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub intent: Vec<f32>,
    pub scores: Vec<f32>,
    /// Indices into the candidate rows, best first (score descending, then index ascending).
    pub top: Vec<u32>,
    pub backend: Backend,
    /// Why the CPU ran when WebGPU was requested or tried (None when WebGPU ran, or for a
    /// plain CPU choice).
    pub fallback: Option<String>,
}

enum GpuSlot<G> {
    Untried,
    /// A call is using (or creating) the runtime; concurrent calls compute on the CPU.
    Busy,
    Ready(Box<G>),
    Failed(String),
}

/// The loaded model plus its (lazily created) GPU runtime. `G` is the platform's GPU (the web
/// crate's WebGPU runtime); [`NoGpu`] everywhere else.
pub struct ModelRuntime<G: GpuDevice = NoGpu> {
    encoder: Rc<IntentEncoder>,
    version: String,
    gpu: RefCell<GpuSlot<G>>,
    calibration: RefCell<Option<Calibration>>,
    /// The last pass's rows and intent. The forward pass is a pure function of the prepared
    /// input, so an identical input (the same recent history, the last event's time gap still in
    /// the same bucket: every re-render of the homepage between two events) reuses the intent
    /// exactly, and after a new event only the rows that changed are computed (`FromStart`
    /// models; see `EncoderState`).
    state: RefCell<EncoderState>,
}

/// Top `k` indices of `scores`, best first, ties by lower index — the GPU kernel's order.
/// One stable sort of the positions (the engine's one sort, `crate::sort`).
pub fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    let better = |a: usize, b: usize| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)) == std::cmp::Ordering::Greater;
    if k <= 16 {
        // A handful (ranking asks for 1): one pass keeping the best k in order.
        let mut best: Vec<usize> = Vec::with_capacity(k + 1);
        for i in 0..scores.len() {
            if best.len() == k && best.last().is_none_or(|&worst| !better(i, worst)) {
                continue;
            }
            let at = best.iter().position(|&b| better(i, b)).unwrap_or(best.len());
            best.insert(at, i);
            best.truncate(k);
        }
        return best.into_iter().map(|i| i as u32).collect();
    }
    let mut order = crate::sort::sorted_positions(scores.len(), &mut |a, b| scores[b].total_cmp(&scores[a]));
    order.truncate(k);
    order.into_iter().map(|i| i as u32).collect()
}

impl<G: GpuDevice> ModelRuntime<G> {
    pub fn new(encoder: IntentEncoder, version: impl Into<String>) -> ModelRuntime<G> {
        ModelRuntime {
            encoder: Rc::new(encoder),
            version: version.into(),
            gpu: RefCell::new(GpuSlot::Untried),
            calibration: RefCell::new(None),
            state: RefCell::new(EncoderState::default()),
        }
    }

    pub fn encoder(&self) -> &IntentEncoder {
        &self.encoder
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The intent on the CPU (synchronous).
    pub fn encode(&self, steps: &[EncoderStep], now_ms: f64) -> Result<Vec<f32>, ModelError> {
        self.encoder.encode(steps, now_ms)
    }

    /// Drops the remembered last input and intent, so the next call runs the model in full
    /// (benchmarks use it to measure the forward pass itself).
    pub fn forget_last_intent(&self) {
        self.state.borrow_mut().clear();
    }

    /// Rows per block the last CPU pass computed (0 when it reused the kept intent, or when
    /// the last pass ran on WebGPU): how much of the incremental path a ranking used.
    pub fn last_recomputed_rows(&self) -> usize {
        self.state.borrow().recomputed_rows()
    }

    /// Whether the WebGPU runtime is created and usable.
    pub fn gpu_ready(&self) -> bool {
        matches!(&*self.gpu.borrow(), GpuSlot::Ready(rt) if !rt.is_lost())
    }

    /// Creates the WebGPU device and pipelines (if not yet) and runs one small call through
    /// them, so later calls pay neither. Returns the backend that is now warm.
    pub async fn warmup(&self) -> (Backend, Option<String>) {
        let d = self.encoder.config().dim;
        let steps_vec = vec![0.1f32; d];
        let steps = [EncoderStep { vector: &steps_vec, kind: crate::history::EventKind::View, timestamp: 0.0 }];
        let items = vec![0.5f32; d * 4];
        match self.encode_and_score(&steps, 1000.0, &items, 2, BackendChoice::Webgpu).await {
            Ok(s) => (s.backend, s.fallback),
            Err(e) => (Backend::Cpu, Some(e.to_string())),
        }
    }

    /// The last warm-up calibration, if any.
    pub fn calibration(&self) -> Option<Calibration> {
        *self.calibration.borrow()
    }

    /// `warmup`, then the calibration that decides `auto` (see the module docs). `now` is a
    /// millisecond clock (performance.now in the browser).
    pub async fn warmup_calibrated(&self, now: &dyn Fn() -> f64) -> (Backend, Option<String>, Option<Calibration>) {
        let (backend, reason) = self.warmup().await;
        if backend != Backend::Webgpu {
            return (backend, reason, None);
        }
        let c = self.encoder.config();
        let (d, n) = (c.dim, c.max_len);
        let mut rng = crate::model::fixture::SplitMix(99);
        let vectors: Vec<Vec<f32>> = (0..n).map(|_| (0..d).map(|_| rng.uniform()).collect()).collect();
        let steps: Vec<EncoderStep> = vectors.iter().enumerate().map(|(i, v)| EncoderStep { vector: v, kind: crate::history::EventKind::ALL[i % 6], timestamp: i as f64 * 60_000.0 }).collect();
        let items: Vec<f32> = (0..CALIBRATION_POOL * d).map(|_| rng.uniform()).collect();
        let t_now = n as f64 * 60_000.0;
        let mut times = [Vec::new(), Vec::new()];
        for (slot, choice) in [(0, BackendChoice::Cpu), (1, BackendChoice::Webgpu)] {
            for _ in 0..3 {
                let t0 = now();
                let r = self.encode_and_score(&steps, t_now, &items, 10, choice).await;
                let ms = now() - t0;
                match r {
                    Ok(s) if s.backend == Backend::Webgpu || choice == BackendChoice::Cpu => times[slot].push(ms),
                    // WebGPU failed mid-calibration: no calibration, `auto` stays on the CPU.
                    _ => return (self.current_backend(), reason, None),
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            crate::sort::sort_by(v, f64::total_cmp);
            v[v.len() / 2]
        };
        let cal = Calibration { pool_size: CALIBRATION_POOL, history_length: n, cpu_ms: median(&mut times[0]), webgpu_ms: median(&mut times[1]) };
        *self.calibration.borrow_mut() = Some(cal);
        (backend, reason, Some(cal))
    }

    fn current_backend(&self) -> Backend {
        if self.gpu_ready() { Backend::Webgpu } else { Backend::Cpu }
    }

    fn wants_gpu(&self, choice: BackendChoice, pool: usize) -> bool {
        match choice {
            BackendChoice::Cpu => false,
            BackendChoice::Webgpu => true,
            BackendChoice::Auto => {
                self.gpu_ready() && pool >= CALIBRATION_POOL && self.calibration.borrow().is_some_and(|c| c.webgpu_ms < c.cpu_ms)
            }
        }
    }

    /// Takes the runtime out of its slot (creating it on first use); None with the reason when
    /// it cannot be used for this call.
    async fn take_gpu(&self) -> Result<Box<G>, String> {
        let slot = std::mem::replace(&mut *self.gpu.borrow_mut(), GpuSlot::Busy);
        match slot {
            GpuSlot::Ready(rt) if !rt.is_lost() => Ok(rt),
            // A lost device (driver reset, GPU process crash, destroy) is replaced by a new one.
            GpuSlot::Ready(_) | GpuSlot::Untried => self.create_gpu().await,
            GpuSlot::Busy => Err("WebGPU is busy with another call".into()),
            GpuSlot::Failed(reason) => {
                let msg = reason.clone();
                *self.gpu.borrow_mut() = GpuSlot::Failed(reason);
                Err(msg)
            }
        }
    }

    async fn create_gpu(&self) -> Result<Box<G>, String> {
        match G::create(self.encoder.weights()).await {
            Ok(rt) => Ok(Box::new(rt)),
            Err(e) => {
                let msg = e.to_string();
                *self.gpu.borrow_mut() = GpuSlot::Failed(msg.clone());
                Err(msg)
            }
        }
    }

    /// Destroys the WebGPU device as a driver reset would, to exercise the device-lost path.
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        if let GpuSlot::Ready(rt) = &*self.gpu.borrow() {
            rt.destroy();
        }
    }

    fn put_gpu(&self, rt: Box<G>, result: &Result<GpuOutput, GpuError>) {
        // A lost device is dropped so the next WebGPU call starts afresh; other errors keep it.
        let keep = !matches!(result, Err(GpuError::Lost)) && !rt.is_lost();
        *self.gpu.borrow_mut() = if keep { GpuSlot::Ready(rt) } else { GpuSlot::Untried };
    }

    async fn run_gpu(&self, steps: Option<(&[EncoderStep<'_>], f64)>, intent: Option<&[f32]>, items: &[f32], k: usize) -> Result<GpuOutput, String> {
        let input = match steps {
            Some((s, now)) => Some(self.encoder.prepare(s, now).map_err(|e| e.to_string())?),
            None => None,
        };
        let mut rt = self.take_gpu().await?;
        let result = rt.run(self.encoder.weights(), input.as_ref(), intent, items, k).await;
        self.put_gpu(rt, &result);
        result.map_err(|e| e.to_string())
    }

    fn check_items(&self, items: &[f32]) -> Result<(), ModelError> {
        let d = self.encoder.config().dim;
        if !items.len().is_multiple_of(d) {
            return Err(ModelError::Input(format!("candidate matrix has {} values, not a multiple of the model's dim {d}", items.len())));
        }
        Ok(())
    }

    /// Encodes the history and scores `items` (row-major `[pool, dim]`) against the intent,
    /// with the top `k` indices. Input errors are returned; any WebGPU failure completes the
    /// call on the CPU (`backend: Cpu`, `fallback: Some(reason)`).
    pub async fn encode_and_score(&self, steps: &[EncoderStep<'_>], now_ms: f64, items: &[f32], k: usize, choice: BackendChoice) -> Result<Scored, ModelError> {
        self.encode_and_score_normed(steps, now_ms, items, None, k, choice).await
    }

    /// [`Self::encode_and_score`] with the items' Euclidean norms already known (a
    /// `CandidatePool` keeps them): the CPU cosine reads them instead of recomputing 500 of
    /// them per ranking. The values are the same (one `norm` function computes both).
    pub async fn encode_and_score_normed(&self, steps: &[EncoderStep<'_>], now_ms: f64, items: &[f32], item_norms: Option<&[f32]>, k: usize, choice: BackendChoice) -> Result<Scored, ModelError> {
        self.check_items(items)?;
        let d = self.encoder.config().dim;
        // Validate input up front so a bad history is an error, not a "fallback".
        let input = self.encoder.prepare(steps, now_ms)?;
        let cached = self.state.borrow_mut().reuse(&input);
        if let Some(intent) = cached {
            return self.score(&intent, items, k, choice).await;
        }
        let mut fallback = None;
        if self.wants_gpu(choice, items.len() / d) {
            match self.run_gpu(Some((steps, now_ms)), None, items, k).await {
                Ok(out) => {
                    self.state.borrow_mut().remember(&input, &out.intent);
                    return Ok(Scored { intent: out.intent, scores: out.scores, top: out.top, backend: Backend::Webgpu, fallback: None });
                }
                Err(reason) => fallback = Some(reason),
            }
        }
        let intent = self.encoder.forward_from(&input, &mut self.state.borrow_mut())?;
        let scores = match item_norms {
            Some(norms) if norms.len() * d == items.len() => cosine_scores_normed(&intent, items, norms, d),
            _ => cosine_scores(&intent, items, d),
        };
        let top = top_k(&scores, k);
        Ok(Scored { intent, scores, top, backend: Backend::Cpu, fallback })
    }

    /// Cosine scores + top-k of `items` against a given intent (no forward pass).
    pub async fn score(&self, intent: &[f32], items: &[f32], k: usize, choice: BackendChoice) -> Result<Scored, ModelError> {
        self.check_items(items)?;
        let d = self.encoder.config().dim;
        if intent.len() != d {
            return Err(ModelError::Input(format!("intent has {} values, the model's dim is {d}", intent.len())));
        }
        let mut fallback = None;
        if self.wants_gpu(choice, items.len() / d) {
            match self.run_gpu(None, Some(intent), items, k).await {
                Ok(out) => return Ok(Scored { intent: intent.to_vec(), scores: out.scores, top: out.top, backend: Backend::Webgpu, fallback: None }),
                Err(reason) => fallback = Some(reason),
            }
        }
        let scores = cosine_scores(intent, items, d);
        let top = top_k(&scores, k);
        Ok(Scored { intent: intent.to_vec(), scores, top, backend: Backend::Cpu, fallback })
    }
}
