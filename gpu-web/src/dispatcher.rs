//! The wgpu dispatcher: the shaders/encoder.wgsl pipelines created once, the weights uploaded
//! once, activation/params/staging buffers reused (grown when a call needs more), and per call
//! exactly one `submit` and one buffer map for the readback.
//!
//! Failure handling: every call runs inside validation + out-of-memory error scopes, and a
//! device-lost callback flips a flag. Any error is returned as `GpuError`; the caller
//! (the core's `ModelRuntime`) completes the call on the CPU and drops this runtime if the device is gone.
//!
//! ## Start-up cost, and why the pipelines are created here with the synchronous API
//! Measured in headless Chromium 156 on SwiftShader (2 cores, shared), with performance.now
//! marks in `create` and the first `run` of a scratch build: adapter 1–26 ms, device 3–16 ms, the
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

use localrank_core::gpu::plan::{Kernel, PARAMS_STRIDE, WORKGROUP_SIZE};

use super::{GpuCall, GpuDispatcher, GpuError};

pub struct WgpuDispatcher {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// In [`Kernel::ALL`] order: a call's dispatch names its kernel by that index.
    pipelines: Vec<wgpu::ComputePipeline>,
    bind_layout: wgpu::BindGroupLayout,
    weights: wgpu::Buffer,
    params: wgpu::Buffer,
    params_slots: usize,
    /// Activation buffer and its size in f32s.
    act: wgpu::Buffer,
    act_len: usize,
    /// Readback staging buffer and its size in f32s.
    staging: wgpu::Buffer,
    staging_len: usize,
    bind_group: wgpu::BindGroup,
    lost: Arc<AtomicBool>,
}

fn bytes_of(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl WgpuDispatcher {
    /// The device-lost flag, for a caller that asks while a call holds the dispatcher.
    pub fn lost_flag(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }

    fn activation_buffer(device: &wgpu::Device, len: usize) -> wgpu::Buffer {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("activations"),
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    }

    /// The mappable copy of the readback: the results only (intent, scores, top-k), a small
    /// part of the activations.
    fn staging_buffer(device: &wgpu::Device, len: usize) -> wgpu::Buffer {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
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

    /// Grows the activation buffer to `activations` f32s (refusing sizes over the device's
    /// storage-binding limit) and the staging buffer to `readback` f32s.
    fn ensure_buffers(&mut self, activations: usize, readback: usize) -> Result<(), GpuError> {
        if activations > self.act_len {
            let limit = self.device.limits().max_storage_buffer_binding_size;
            if (activations * 4) as u64 > limit {
                return Err(GpuError::Unsupported(format!("this pool needs {} bytes of GPU buffer, over the device's {limit}", activations * 4)));
            }
            self.act.destroy();
            self.act = Self::activation_buffer(&self.device, activations);
            self.act_len = activations;
            self.bind_group = Self::bind(&self.device, &self.bind_layout, &self.weights, &self.act, &self.params);
        }
        if readback > self.staging_len {
            self.staging.destroy();
            self.staging = Self::staging_buffer(&self.device, readback);
            self.staging_len = readback;
        }
        Ok(())
    }
}

impl GpuDispatcher for WgpuDispatcher {
    /// Acquires an adapter and device, compiles the pipelines and uploads the weights.
    async fn create(weights: &[f32], params_slots: usize) -> Result<WgpuDispatcher, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor { backends: wgpu::Backends::BROWSER_WEBGPU, ..wgpu::InstanceDescriptor::new_without_display_handle() });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() })
            .await
            .map_err(|e| GpuError::Unavailable(format!("no WebGPU adapter: {e}")))?;
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
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(k.entry_point()),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(k.entry_point()),
                    compilation_options: wgpu::PipelineCompilationOptions { constants: &constants, ..Default::default() },
                    cache: None,
                })
            })
            .collect();

        let weights_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("weights"),
            size: (weights.len().max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&weights_buf, 0, &bytes_of(weights));
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: params_slots.max(1) as u64 * PARAMS_STRIDE,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // Sized by the first call (the engine's layout for its first pool).
        let (act, staging) = (Self::activation_buffer(&device, 1), Self::staging_buffer(&device, 1));
        let bind_group = Self::bind(&device, &bind_layout, &weights_buf, &act, &params);
        if let Some(e) = scope.pop().await {
            return Err(GpuError::Failed(format!("creating pipelines: {e}")));
        }
        Ok(WgpuDispatcher { device, queue, pipelines, bind_layout, weights: weights_buf, params, params_slots, act, act_len: 1, staging, staging_len: 1, bind_group, lost })
    }

    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Destroys the device, which loses it exactly as a driver reset would (tests use this).
    fn destroy(&self) {
        self.device.destroy();
    }

    async fn run(&mut self, call: GpuCall) -> Result<Vec<f32>, GpuError> {
        if self.is_lost() {
            return Err(GpuError::Lost);
        }
        if call.dispatches.len() > self.params_slots {
            return Err(GpuError::Failed(format!("{} dispatches exceed {} parameter slots", call.dispatches.len(), self.params_slots)));
        }
        // Scopes cover buffer growth and uploads too, so their failures are this call's errors.
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        self.ensure_buffers(call.activations, call.readback.len())?;
        let mut data = call.upload_data.as_slice();
        for &(at, len) in &call.uploads {
            self.queue.write_buffer(&self.act, (at * 4) as u64, &bytes_of(&data[..len]));
            data = &data[len..];
        }
        if !call.params.is_empty() {
            self.queue.write_buffer(&self.params, 0, &call.params);
        }

        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("localrank") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("localrank"), timestamp_writes: None });
            for (i, d) in call.dispatches.iter().enumerate() {
                // GpuCall::from_parts checked every kernel index.
                let Some(pipeline) = self.pipelines.get(d[0] as usize) else {
                    return Err(GpuError::Failed(format!("no pipeline for kernel {}", d[0])));
                };
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &self.bind_group, &[(i as u64 * PARAMS_STRIDE) as u32]);
                pass.dispatch_workgroups(d[1], d[2], d[3]);
            }
        }
        let bytes = (call.readback.len() * 4) as u64;
        encoder.copy_buffer_to_buffer(&self.act, (call.readback.start * 4) as u64, &self.staging, 0, bytes);
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
        Ok(values)
    }
}
