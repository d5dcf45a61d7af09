//! The plan on a GPU, split in two: [`Planned`] (here, plain Rust) decides what one call
//! uploads, dispatches and reads back; a [`GpuDispatcher`] only executes that against a GPU.
//!
//! Why the split: the dispatcher is the part that needs wgpu, and wgpu with the WGSL source is
//! ~29 KB gzip of the browser engine. In the browser it lives in a second WebAssembly module
//! (`gpu-web/`, pkg/localrank_gpu_bg.wasm) that only pages with WebGPU download; the engine
//! drives it through a JS bridge (`src/gpu/bridge.rs`). Everything that decides *what* runs —
//! the model's limits, the buffer layout and its growth, the dispatch list, the readback's
//! meaning — stays in the engine and is tested natively (tests/runtime_plan.rs runs
//! [`Planned`] over a CPU emulation of the kernels).

use std::ops::Range;

use super::plan::{self, Kernel, Layout, MAX_TOP_K, PARAMS_STRIDE};
use super::{GpuDevice, GpuError, GpuOutput};
use crate::model::{ModelConfig, PreparedInput, Weights};

/// Candidate capacity of the first activation buffer; it grows to the next power of two.
const FIRST_POOL_CAPACITY: usize = 256;

/// One call as data, for a [`GpuDispatcher`]. Offsets and lengths are in f32 elements.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuCall {
    /// Size the activation buffer must have (the dispatcher grows it, keeping nothing: every
    /// call uploads what it reads).
    pub activations: usize,
    /// Where each upload starts in the activation buffer, and its length, in order; the values
    /// are `upload_data`, concatenated.
    pub uploads: Vec<(usize, usize)>,
    pub upload_data: Vec<f32>,
    /// One [`PARAMS_STRIDE`]-byte uniform slot per dispatch (the shader's `Params`).
    pub params: Vec<u8>,
    /// Per dispatch: the kernel (its index in [`Kernel::ALL`]) and its workgroup counts.
    pub dispatches: Vec<[u32; 4]>,
    /// The activation range copied back after the last dispatch.
    pub readback: Range<usize>,
}

impl GpuCall {
    /// The call flattened for a JS boundary: `[activations, readback.start, readback.len,
    /// uploads…(offset, len)…]`.
    pub fn header(&self) -> Vec<u32> {
        let mut out = vec![self.activations as u32, self.readback.start as u32, self.readback.len() as u32];
        out.extend(self.uploads.iter().flat_map(|&(at, len)| [at as u32, len as u32]));
        out
    }

    /// The inverse of [`GpuCall::header`] with the other parts; `None` when the parts do not fit
    /// together (a dispatcher reports that as [`GpuError::Failed`]).
    pub fn from_parts(header: &[u32], upload_data: Vec<f32>, params: Vec<u8>, dispatches: &[u32]) -> Option<GpuCall> {
        let (&[activations, start, len], rest) = header.split_first_chunk::<3>()?;
        if !rest.len().is_multiple_of(2) || !dispatches.len().is_multiple_of(4) {
            return None;
        }
        let uploads: Vec<(usize, usize)> = rest.chunks_exact(2).map(|c| (c[0] as usize, c[1] as usize)).collect();
        let activations = activations as usize;
        let readback = start as usize..start as usize + len as usize;
        let fits = |r: &Range<usize>| r.end <= activations;
        let total: usize = uploads.iter().map(|u| u.1).sum();
        let dispatches: Vec<[u32; 4]> = dispatches.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
        let ok = total == upload_data.len()
            && uploads.iter().all(|&(at, n)| fits(&(at..at + n)))
            && fits(&readback)
            && params.len() == dispatches.len() * PARAMS_STRIDE as usize
            && dispatches.iter().all(|d| (d[0] as usize) < Kernel::ALL.len());
        ok.then_some(GpuCall { activations, uploads, upload_data, params, dispatches, readback })
    }
}

/// Executes [`GpuCall`]s: owns the device, the pipelines of [`Kernel::ALL`], the weights'
/// storage buffer and the activation, uniform and readback buffers.
#[allow(async_fn_in_trait)] // single-threaded by design: wasm has no Send futures to offer
pub trait GpuDispatcher: Sized {
    /// Acquires a device, compiles the pipelines and uploads `weights`; `params_slots` is the
    /// most dispatches one call makes.
    async fn create(weights: &[f32], params_slots: usize) -> Result<Self, GpuError>;

    /// True once the device is gone (driver reset, GPU process crash, `destroy`).
    fn is_lost(&self) -> bool;

    /// Destroys the device as a driver reset would (exercises the device-lost path).
    fn destroy(&self);

    /// Uploads, dispatches in order, and returns the readback range.
    async fn run(&mut self, call: GpuCall) -> Result<Vec<f32>, GpuError>;
}

/// Dispatches per call: 7 per block + final norm + cosine + top-k.
pub fn params_slots(config: &ModelConfig) -> usize {
    7 * config.blocks + 3
}

/// The [`GpuDevice`] that runs the [`plan`] on a dispatcher.
pub struct Planned<D> {
    dispatcher: D,
    layout: Layout,
}

impl<D: GpuDispatcher> Planned<D> {
    /// The call for one forward pass on `input` (or, when `input` is None, the given
    /// `intent`), then the cosine scores of `items` and their top `k`; and the layout it uses
    /// (grown for a larger pool, kept by [`GpuDevice::run`] once the dispatcher accepted it).
    pub fn call(&self, weights: &Weights, input: Option<&PreparedInput>, intent: Option<&[f32]>, items: &[f32], k: usize) -> Result<(GpuCall, Layout), GpuError> {
        let c = &weights.config;
        let d = c.dim;
        if !items.len().is_multiple_of(d) {
            return Err(GpuError::Failed(format!("candidate matrix of {} values is not a multiple of dim {d}", items.len())));
        }
        let pool = items.len() / d;
        let k = k.min(pool).min(MAX_TOP_K);
        let layout = if pool > self.layout.pool_capacity { Layout::new(c, pool.next_power_of_two()) } else { self.layout };
        let mut uploads = Vec::new();
        let mut upload_data = Vec::new();
        let n = match (input, intent) {
            (Some(input), _) => {
                uploads.push((layout.x, input.x.len()));
                upload_data.extend_from_slice(&input.x);
                input.len
            }
            (None, Some(u)) if u.len() == d => {
                uploads.push((layout.intent, d));
                upload_data.extend_from_slice(u);
                0
            }
            _ => return Err(GpuError::Failed("neither a history nor an intent of the model's dimension was given".into())),
        };
        if pool > 0 {
            uploads.push((layout.items, items.len()));
            upload_data.extend_from_slice(items);
        }
        let planned = plan::plan(weights, &layout, n, pool, k);
        let slots = params_slots(c);
        if planned.len() > slots {
            return Err(GpuError::Failed(format!("{} dispatches exceed {slots} parameter slots", planned.len())));
        }
        let mut params = vec![0u8; planned.len() * PARAMS_STRIDE as usize];
        let mut dispatches = Vec::with_capacity(planned.len());
        for (i, d) in planned.iter().enumerate() {
            let at = i * PARAMS_STRIDE as usize;
            let bytes = d.params.to_bytes();
            params[at..at + bytes.len()].copy_from_slice(&bytes);
            dispatches.push([d.kernel.index(), d.workgroups[0], d.workgroups[1], d.workgroups[2]]);
        }
        Ok((GpuCall { activations: layout.total, uploads, upload_data, params, dispatches, readback: layout.readback(pool) }, layout))
    }

    /// Reads a call's readback as intent, scores and top-k.
    fn output(layout: &Layout, values: &[f32], dim: usize, pool: usize, k: usize) -> Result<GpuOutput, GpuError> {
        let k = k.min(pool).min(MAX_TOP_K);
        let scores_at = layout.scores - layout.intent;
        let top_at = layout.top - layout.intent;
        if values.len() < top_at + k || values.len() < scores_at + pool || values.len() < dim {
            return Err(GpuError::Failed(format!("the readback has {} values, fewer than the call's results", values.len())));
        }
        Ok(GpuOutput {
            intent: values[..dim].to_vec(),
            scores: values[scores_at..scores_at + pool].to_vec(),
            top: values[top_at..top_at + k].iter().map(|v| v.to_bits()).collect(),
        })
    }
}

impl<D: GpuDispatcher> GpuDevice for Planned<D> {
    async fn create(weights: &Weights) -> Result<Self, GpuError> {
        if let Some(reason) = plan::unsupported(&weights.config) {
            return Err(GpuError::Unsupported(reason));
        }
        let dispatcher = D::create(&weights.data, params_slots(&weights.config)).await?;
        Ok(Planned { dispatcher, layout: Layout::new(&weights.config, FIRST_POOL_CAPACITY) })
    }

    fn is_lost(&self) -> bool {
        self.dispatcher.is_lost()
    }

    fn destroy(&self) {
        self.dispatcher.destroy()
    }

    async fn run(&mut self, weights: &Weights, input: Option<&PreparedInput>, intent: Option<&[f32]>, items: &[f32], k: usize) -> Result<GpuOutput, GpuError> {
        if self.dispatcher.is_lost() {
            return Err(GpuError::Lost);
        }
        let (call, layout) = self.call(weights, input, intent, items, k)?;
        let values = self.dispatcher.run(call).await?;
        self.layout = layout;
        Self::output(&layout, &values, weights.config.dim, items.len() / weights.config.dim, k)
    }
}
