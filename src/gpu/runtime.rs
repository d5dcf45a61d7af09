//! The WebGPU runtime (wasm32 only): the shaders/encoder.wgsl pipelines created once, the
//! weights uploaded once, activation/params/staging buffers reused (grown when a larger pool
//! arrives), and per call exactly one `submit` and one buffer map for the readback.
//!
//! Failure handling: every call runs inside validation + out-of-memory error scopes, and a
//! device-lost callback flips a flag. Any error is returned as `GpuError`; the caller
//! (the core's `ModelRuntime`) completes the call on the CPU and drops this runtime if the device is gone.
//!
//! ## Start-up cost, and why the pipelines are created here with the synchronous API
//! Measured in headless Chromium 156 on SwiftShader (2 cores, shared), with performance.now
//! marks in `new` and the first `run` of a scratch build: adapter 1–26 ms, device 3–16 ms, the
//! five pipelines ~100 ms (one by one: layer_norm 16, linear 18, attention 33, cosine 10, top_k
//! 21) — 150–260 ms for the first device of a browser session, which also starts SwiftShader —
//! the weights upload ~10 ms, the first call 25–35 ms. Nothing here blocks the page:
//! `create_compute_pipeline` returns at once (~1 ms for all five) and the GPU process compiles;
//! the wait is the error-scope pop below. wgpu 30 has no `createComputePipelineAsync`; tried
//! through the raw `GPUDevice` (`Device::as_webgpu`, whose pipelines Dawn then deduplicates
//! with these), all five at once compiled no faster (ready after 104–159 ms vs 99–155 ms with
//! the calls below): Chromium compiles them one after another. It would also compile everything
//! twice in a browser that does not deduplicate. So this cost is paid in `engine.warmup()` (the
//! page's idle time: `ModelRuntime::warmup` runs one small call through every pipeline), and
//! the first call after it took 6–18 ms (`model/webgpu-first-after-warmup` in
//! benches/browser/cases.js; no warm-up: `model/webgpu-first-call`).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::plan::{self, Kernel, Layout, MAX_TOP_K, PARAMS_STRIDE, WORKGROUP_SIZE};
use super::{GpuDevice, GpuError, GpuOutput};
use crate::model::{PreparedInput, Weights};

pub struct WebGpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipelines: Vec<(Kernel, wgpu::ComputePipeline)>,
    bind_layout: wgpu::BindGroupLayout,
    weights: wgpu::Buffer,
    params: wgpu::Buffer,
    params_slots: usize,
    act: wgpu::Buffer,
    staging: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    layout: Layout,
    lost: Arc<AtomicBool>,
    pub adapter: wgpu::AdapterInfo,
}

fn bytes_of(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Dispatches per call: 7 per block + final norm + cosine + top-k.
fn slots_for(blocks: usize) -> usize {
    7 * blocks + 3
}

impl WebGpu {
    /// Acquires an adapter and device, compiles the pipelines and uploads the weights.
    pub async fn new(weights: &Weights) -> Result<WebGpu, GpuError> {
        if let Some(reason) = plan::unsupported(&weights.config) {
            return Err(GpuError::Unsupported(reason));
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor { backends: wgpu::Backends::BROWSER_WEBGPU, ..wgpu::InstanceDescriptor::new_without_display_handle() });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() })
            .await
            .map_err(|e| GpuError::Unavailable(format!("no WebGPU adapter: {e}")))?;
        let info = adapter.get_info();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor { label: Some("localrank"), ..Default::default() })
            .await
            .map_err(|e| GpuError::Unavailable(format!("requestDevice failed: {e}")))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_reason, _message| flag.store(true, Ordering::SeqCst));
        // Every call runs inside error scopes; anything that still escapes them must not reach
        // wgpu's default handler, which panics. Log it; the next scoped call reports failures.
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| web_sys::console::warn_1(&format!("localrank: uncaptured WebGPU error: {e}").into())));

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("encoder.wgsl"), source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(super::SHADER)) });
        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only }, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        };
        let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("localrank"),
            entries: &[
                storage(0, true),
                storage(1, false),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: true, min_binding_size: None },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: Some("localrank"), bind_group_layouts: &[Some(&bind_layout)], immediate_size: 0 });
        let constants = [("WG", f64::from(WORKGROUP_SIZE))];
        let pipelines = Kernel::ALL
            .iter()
            .map(|&k| {
                let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(k.entry_point()),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(k.entry_point()),
                    compilation_options: wgpu::PipelineCompilationOptions { constants: &constants, ..Default::default() },
                    cache: None,
                });
                (k, p)
            })
            .collect();

        let weights_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("weights"),
            size: (weights.data.len().max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&weights_buf, 0, &bytes_of(&weights.data));
        let params_slots = slots_for(weights.config.blocks);
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: params_slots as u64 * PARAMS_STRIDE,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layout = Layout::new(&weights.config, 256);
        let (act, staging) = Self::activation_buffers(&device, &layout);
        let bind_group = Self::bind(&device, &bind_layout, &weights_buf, &act, &params);
        if let Some(e) = scope.pop().await {
            return Err(GpuError::Failed(format!("creating pipelines: {e}")));
        }
        Ok(WebGpu { device, queue, pipelines, bind_layout, weights: weights_buf, params, params_slots, act, staging, bind_group, layout, lost, adapter: info })
    }

    fn activation_buffers(device: &wgpu::Device, layout: &Layout) -> (wgpu::Buffer, wgpu::Buffer) {
        let act = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("activations"),
            size: (layout.total * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let rb = layout.readback(layout.pool_capacity);
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (rb.len() * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        (act, staging)
    }

    fn bind(device: &wgpu::Device, layout: &wgpu::BindGroupLayout, weights: &wgpu::Buffer, act: &wgpu::Buffer, params: &wgpu::Buffer) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("localrank"),
            layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: weights.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: act.as_entire_binding() },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: params, offset: 0, size: std::num::NonZeroU64::new(PARAMS_STRIDE) }),
                },
            ],
        })
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Destroys the device, which loses it exactly as a driver reset would (tests use this).
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// Grows the activation and readback buffers (to the next power of two) for `pool` items;
    /// refuses pools whose buffer would exceed the device's storage-binding limit.
    fn ensure_pool(&mut self, config: &crate::model::ModelConfig, pool: usize) -> Result<(), GpuError> {
        if pool <= self.layout.pool_capacity {
            return Ok(());
        }
        let layout = Layout::new(config, pool.next_power_of_two());
        let limit = self.device.limits().max_storage_buffer_binding_size;
        if (layout.total * 4) as u64 > limit {
            return Err(GpuError::Unsupported(format!("{pool} candidates need {} bytes of GPU buffer, over the device's {limit}", layout.total * 4)));
        }
        self.layout = layout;
        let (act, staging) = Self::activation_buffers(&self.device, &self.layout);
        self.act.destroy();
        self.staging.destroy();
        self.act = act;
        self.staging = staging;
        self.bind_group = Self::bind(&self.device, &self.bind_layout, &self.weights, &self.act, &self.params);
        Ok(())
    }

    /// One call: the forward pass on `input` (or, when `input` is None, the given `intent`),
    /// then cosine scores of `items` (row-major, `dim` wide) and their top `k` indices.
    pub async fn run(&mut self, weights: &Weights, input: Option<&PreparedInput>, intent: Option<&[f32]>, items: &[f32], k: usize) -> Result<GpuOutput, GpuError> {
        if self.is_lost() {
            return Err(GpuError::Lost);
        }
        let c = &weights.config;
        let d = c.dim;
        if !items.len().is_multiple_of(d) {
            return Err(GpuError::Failed(format!("candidate matrix of {} values is not a multiple of dim {d}", items.len())));
        }
        let pool = items.len() / d;
        let k = k.min(pool).min(MAX_TOP_K);
        // Scopes cover buffer growth and uploads too, so their failures are this call's errors.
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        self.ensure_pool(c, pool)?;
        let layout = self.layout;
        let n = match (input, intent) {
            (Some(input), _) => {
                self.queue.write_buffer(&self.act, (layout.x * 4) as u64, &bytes_of(&input.x));
                input.len
            }
            (None, Some(u)) if u.len() == d => {
                self.queue.write_buffer(&self.act, (layout.intent * 4) as u64, &bytes_of(u));
                0
            }
            _ => return Err(GpuError::Failed("neither a history nor an intent of the model's dimension was given".into())),
        };
        if pool > 0 {
            self.queue.write_buffer(&self.act, (layout.items * 4) as u64, &bytes_of(items));
        }
        let dispatches = plan::plan(weights, &layout, n, pool, k);
        if dispatches.len() > self.params_slots {
            return Err(GpuError::Failed(format!("{} dispatches exceed {} parameter slots", dispatches.len(), self.params_slots)));
        }
        let mut params = vec![0u8; dispatches.len() * PARAMS_STRIDE as usize];
        for (i, d) in dispatches.iter().enumerate() {
            let at = i * PARAMS_STRIDE as usize;
            params[at..at + 72].copy_from_slice(&d.params.to_bytes());
        }
        if !params.is_empty() {
            self.queue.write_buffer(&self.params, 0, &params);
        }

        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("localrank") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("localrank"), timestamp_writes: None });
            for (i, d) in dispatches.iter().enumerate() {
                let Some((_, pipeline)) = self.pipelines.iter().find(|(k, _)| *k == d.kernel) else {
                    return Err(GpuError::Failed(format!("no pipeline for {:?}", d.kernel)));
                };
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &self.bind_group, &[(i as u64 * PARAMS_STRIDE) as u32]);
                pass.dispatch_workgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
            }
        }
        let rb = layout.readback(pool);
        let bytes = (rb.len() * 4) as u64;
        encoder.copy_buffer_to_buffer(&self.act, (rb.start * 4) as u64, &self.staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        // Error scopes pop in reverse order of pushing.
        let oom = oom.pop();
        let validation = validation.pop();

        let (tx, rx) = futures::channel::oneshot::channel();
        self.staging.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            let _ = tx.send(r);
        });
        if let Some(e) = oom.await {
            self.staging.unmap();
            return Err(GpuError::Failed(format!("out of GPU memory: {e}")));
        }
        if let Some(e) = validation.await {
            self.staging.unmap();
            return Err(GpuError::Failed(format!("WebGPU validation: {e}")));
        }
        let mapped = rx.await.map_err(|_| GpuError::Failed("readback was cancelled".into()))?;
        if let Err(e) = mapped {
            return Err(if self.is_lost() { GpuError::Lost } else { GpuError::Failed(format!("readback failed: {e}")) });
        }
        let values: Vec<f32> = {
            let view = self.staging.get_mapped_range(0..bytes).map_err(|e| GpuError::Failed(format!("readback range: {e}")))?;
            view.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        };
        self.staging.unmap();
        let scores_at = layout.scores - layout.intent;
        let top_at = layout.top - layout.intent;
        Ok(GpuOutput {
            intent: values[..d].to_vec(),
            scores: values[scores_at..scores_at + pool].to_vec(),
            top: values[top_at..top_at + k].iter().map(|v| v.to_bits()).collect(),
        })
    }
}

// The core's backend choice drives the runtime through this seam (inherent methods win in
// path resolution, so each line below calls the implementation above).
impl GpuDevice for WebGpu {
    async fn create(weights: &Weights) -> Result<WebGpu, GpuError> {
        WebGpu::new(weights).await
    }

    fn is_lost(&self) -> bool {
        WebGpu::is_lost(self)
    }

    fn destroy(&self) {
        WebGpu::destroy(self)
    }

    async fn run(&mut self, weights: &Weights, input: Option<&PreparedInput>, intent: Option<&[f32]>, items: &[f32], k: usize) -> Result<GpuOutput, GpuError> {
        WebGpu::run(self, weights, input, intent, items, k).await
    }
}
