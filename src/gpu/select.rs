//! Backend choice for the model: `auto | webgpu | cpu`, with the CPU as the fallback for every
//! WebGPU failure, and every result saying which backend actually produced it.
//!
//! ## When `auto` uses WebGPU
//! `auto` never waits for WebGPU to start: until `warmup()` (or a `webgpu` call) has created
//! the device and pipelines, it computes on the CPU. Once WebGPU is ready, `auto` uses it only
//! for workloads at or above [`AUTO_MIN_POOL`] candidates, the crossover measured with the
//! browser benchmark (benches/browser/cases.js, `model/*` cases) in headless Chromium on
//! SwiftShader on this 2-core machine — see the numbers in that constant's doc. On software
//! adapters (`isFallbackAdapter`) the CPU wins for every size measured, so `auto` stays on
//! the CPU there.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use tsify::Tsify;

use super::{Backend, GpuError, GpuOutput, GpuRuntime};
use crate::model::{EncoderStep, IntentEncoder, ModelError};
use crate::rank::cosine_scores;

/// Candidate-pool size from which `auto` prefers a (hardware) WebGPU adapter. Measured on
/// SwiftShader only, where the CPU was faster at every size tried; hardware GPUs were not
/// available to measure, so this is a conservative guess for them.
pub const AUTO_MIN_POOL: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Tsify)]
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

enum GpuSlot {
    Untried,
    /// A call is using (or creating) the runtime; concurrent calls compute on the CPU.
    Busy,
    Ready(Box<GpuRuntime>),
    Failed(String),
}

/// The loaded model plus its (lazily created) WebGPU runtime.
pub struct ModelRuntime {
    encoder: Rc<IntentEncoder>,
    version: String,
    gpu: RefCell<GpuSlot>,
    adapter_is_fallback: RefCell<Option<bool>>,
}

/// Top `k` indices of `scores`, best first, ties by lower index — the GPU kernel's order.
pub fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32).collect();
    idx.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

impl ModelRuntime {
    pub fn new(encoder: IntentEncoder, version: impl Into<String>) -> ModelRuntime {
        ModelRuntime { encoder: Rc::new(encoder), version: version.into(), gpu: RefCell::new(GpuSlot::Untried), adapter_is_fallback: RefCell::new(None) }
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

    fn wants_gpu(&self, choice: BackendChoice, pool: usize) -> bool {
        match choice {
            BackendChoice::Cpu => false,
            BackendChoice::Webgpu => true,
            BackendChoice::Auto => self.gpu_ready() && pool >= AUTO_MIN_POOL && *self.adapter_is_fallback.borrow() == Some(false),
        }
    }

    /// Takes the runtime out of its slot (creating it on first use); None with the reason when
    /// it cannot be used for this call.
    async fn take_gpu(&self) -> Result<Box<GpuRuntime>, String> {
        let slot = std::mem::replace(&mut *self.gpu.borrow_mut(), GpuSlot::Busy);
        match slot {
            GpuSlot::Ready(rt) if !rt.is_lost() => Ok(rt),
            GpuSlot::Ready(_) => {
                *self.gpu.borrow_mut() = GpuSlot::Untried;
                Err("the WebGPU device was lost; it will be re-created on the next WebGPU call".into())
            }
            GpuSlot::Busy => Err("WebGPU is busy with another call".into()),
            GpuSlot::Failed(reason) => {
                let msg = reason.clone();
                *self.gpu.borrow_mut() = GpuSlot::Failed(reason);
                Err(msg)
            }
            GpuSlot::Untried => match GpuRuntime::new(self.encoder.weights()).await {
                Ok(rt) => {
                    *self.adapter_is_fallback.borrow_mut() = Some(super::adapter_is_fallback(&rt));
                    Ok(Box::new(rt))
                }
                Err(e) => {
                    let msg = e.to_string();
                    *self.gpu.borrow_mut() = GpuSlot::Failed(msg.clone());
                    Err(msg)
                }
            },
        }
    }

    fn put_gpu(&self, rt: Box<GpuRuntime>, result: &Result<GpuOutput, GpuError>) {
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
        if items.len() % d != 0 {
            return Err(ModelError::Input(format!("candidate matrix has {} values, not a multiple of the model's dim {d}", items.len())));
        }
        Ok(())
    }

    /// Encodes the history and scores `items` (row-major `[pool, dim]`) against the intent,
    /// with the top `k` indices. Input errors are returned; any WebGPU failure completes the
    /// call on the CPU (`backend: Cpu`, `fallback: Some(reason)`).
    pub async fn encode_and_score(&self, steps: &[EncoderStep<'_>], now_ms: f64, items: &[f32], k: usize, choice: BackendChoice) -> Result<Scored, ModelError> {
        self.check_items(items)?;
        let d = self.encoder.config().dim;
        // Validate input up front so a bad history is an error, not a "fallback".
        let input = self.encoder.prepare(steps, now_ms)?;
        let mut fallback = None;
        if self.wants_gpu(choice, items.len() / d) {
            match self.run_gpu(Some((steps, now_ms)), None, items, k).await {
                Ok(out) => return Ok(Scored { intent: out.intent, scores: out.scores, top: out.top, backend: Backend::Webgpu, fallback: None }),
                Err(reason) => fallback = Some(reason),
            }
        }
        let intent = self.encoder.forward(&input)?;
        let scores = cosine_scores(&intent, items, d);
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
