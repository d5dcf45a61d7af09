//! The WebGPU path's plan, checked natively: the WGSL parses and validates (naga, the same
//! front end wgpu uses natively), and the plan's dispatches, executed by a line-for-line CPU
//! emulation of each kernel, reproduce the CPU forward pass and cosine scores. The browser
//! test (tests/browser_runtime.rs) then runs the same plan on real WebGPU.
#![cfg(not(target_arch = "wasm32"))]

use localrank_core::gpu::plan::{plan, Dispatch, Kernel, Layout, Params, FLAG_GELU, FLAG_RESIDUAL, MAX_TOP_K, PARAMS_STRIDE, WORKGROUP_SIZE};
use localrank_core::gpu::{Backend, BackendChoice, GpuCall, GpuDispatcher, GpuError, ModelRuntime, Planned};
use localrank_core::history::EventKind;
use localrank_core::model::fixture::{random_model, SplitMix};
use localrank_core::model::{EncoderStep, IntentEncoder, Precision};
use localrank_core::rank::cosine_scores;

/// The kernels the web crate compiles (`localrank::gpu::SHADER`), read from the same file and
/// blanked the same way.
const SOURCE: &str = include_str!("../../shaders/encoder.wgsl");
const BLANKED: [u8; SOURCE.len()] = localrank_core::gpu::wgsl::blank_comments(SOURCE);

#[test]
fn shader_validates() {
    let shader = std::str::from_utf8(&BLANKED).expect("UTF-8");
    assert!(!shader.contains("//") && shader.lines().count() == SOURCE.lines().count(), "comments blanked, lines kept");
    let module = naga::front::wgsl::parse_str(shader).unwrap_or_else(|e| panic!("{}", e.emit_to_string(shader)));
    let mut validator = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all());
    validator.validate(&module).unwrap_or_else(|e| panic!("{e:?}"));
    for k in Kernel::ALL {
        assert!(module.entry_points.iter().any(|e| e.name == k.entry_point()), "missing entry point {}", k.entry_point());
    }
    assert!(WORKGROUP_SIZE >= 1);
    assert!(shader.contains(&format!("const MAX_K: u32 = {}u;", MAX_TOP_K)), "MAX_TOP_K and the shader's MAX_K must agree");
}

fn gelu(x: f32) -> f32 {
    let u = (0.797_884_6 * (x + 0.044_715 * x * x * x)).clamp(-15.0, 15.0);
    0.5 * x * (1.0 + u.tanh())
}

/// Runs one dispatch the way the WGSL kernel does (per thread, same loop order).
fn emulate(d: &Dispatch, w: &[f32], act: &mut [f32]) {
    let p: Params = d.params;
    let u = |v: u32| v as usize;
    match d.kernel {
        Kernel::LayerNorm => {
            for r in 0..u(p.rows) {
                let row = u(p.row_start) + r;
                let x0 = u(p.x_off) + row * u(p.x_stride);
                let y0 = u(p.y_off) + row * u(p.y_stride);
                let n = p.in_dim as f32;
                let mean = (0..u(p.in_dim)).map(|i| act[x0 + i]).sum::<f32>() / n;
                let sq = (0..u(p.in_dim)).map(|i| (act[x0 + i] - mean).powi(2)).sum::<f32>();
                let inv = 1.0 / (sq / n + p.eps).sqrt();
                for i in 0..u(p.in_dim) {
                    act[y0 + i] = (act[x0 + i] - mean) * inv * w[u(p.w_off) + i] + w[u(p.b_off) + i];
                }
            }
        }
        Kernel::Linear => {
            assert!(d.workgroups[1] * 4 >= p.rows && d.workgroups[0] * WORKGROUP_SIZE >= p.out_dim, "linear dispatch too small");
            // Threads read the input before any writes land only if input and output regions
            // differ, which the plan guarantees; emulate with a snapshot to catch violations.
            let before = act.to_vec();
            for r in 0..u(p.rows) {
                let row = u(p.row_start) + r;
                for o in 0..u(p.out_dim) {
                    let x0 = u(p.x_off) + row * u(p.x_stride);
                    let mut acc = w[u(p.b_off) + o];
                    for i in 0..u(p.in_dim) {
                        acc += before[x0 + i] * w[u(p.w_off) + i * u(p.out_dim) + o];
                    }
                    if p.flags & FLAG_GELU != 0 {
                        acc = gelu(acc);
                    }
                    let y = u(p.y_off) + row * u(p.y_stride) + o;
                    act[y] = if p.flags & FLAG_RESIDUAL != 0 { before[y] + acc } else { acc };
                }
            }
        }
        Kernel::Attention => {
            assert!(d.workgroups[0] * WORKGROUP_SIZE >= p.rows);
            let dd = u(p.heads * p.head_dim);
            for r in 0..u(p.rows) {
                let i = u(p.row_start) + r;
                for h in 0..u(p.heads) {
                    let q0 = u(p.x_off) + i * u(p.x_stride) + h * u(p.head_dim);
                    let s: Vec<f32> = (0..=i)
                        .map(|j| {
                            let k0 = u(p.x_off) + j * u(p.x_stride) + dd + h * u(p.head_dim);
                            (0..u(p.head_dim)).map(|c| act[q0 + c] * act[k0 + c]).sum::<f32>() * p.scale
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                    let z: f32 = s.iter().map(|v| (v - m).exp()).sum();
                    for c in 0..u(p.head_dim) {
                        let acc: f32 = (0..=i).map(|j| (s[j] - m).exp() / z * act[u(p.x_off) + j * u(p.x_stride) + 2 * dd + h * u(p.head_dim) + c]).sum();
                        act[u(p.y_off) + i * u(p.y_stride) + h * u(p.head_dim) + c] = acc;
                    }
                }
            }
        }
        Kernel::Cosine => {
            for r in 0..u(p.count) {
                let v0 = u(p.x_off) + r * u(p.in_dim);
                let (mut dot, mut qq, mut vv) = (0f32, 0f32, 0f32);
                for c in 0..u(p.in_dim) {
                    let (q, v) = (act[u(p.aux_off) + c], act[v0 + c]);
                    dot += q * v;
                    qq += q * q;
                    vv += v * v;
                }
                act[u(p.y_off) + r] = dot / (qq.sqrt() * vv.sqrt()).max(1e-12);
            }
        }
        Kernel::TopK => {
            let mut idx: Vec<u32> = (0..p.count).collect();
            let s = |i: u32| act[u(p.aux_off) + u(i)];
            idx.sort_by(|&a, &b| s(b).total_cmp(&s(a)).then(a.cmp(&b)));
            for round in 0..u(p.k) {
                act[u(p.y_off) + round] = f32::from_bits(idx.get(round).copied().unwrap_or(u32::MAX));
            }
        }
    }
}

#[test]
fn plan_reproduces_the_cpu_forward_and_scores() {
    for (dim, heads, blocks, max_len, ffn, hist_len, pool) in [(64, 2, 2, 50, 256, 50, 300), (16, 4, 3, 8, 24, 5, 7), (8, 2, 1, 6, 16, 1, 1), (64, 2, 2, 50, 256, 80, 2)] {
        let (bytes, json) = random_model(dim, heads, blocks, max_len, ffn, Precision::F32, 42).expect("fixture");
        let enc = IntentEncoder::load(&bytes, &json).expect("loads");
        let mut rng = SplitMix(7);
        let vectors: Vec<Vec<f32>> = (0..hist_len).map(|_| (0..dim).map(|_| rng.uniform()).collect()).collect();
        let steps: Vec<EncoderStep> = vectors.iter().enumerate().map(|(i, v)| EncoderStep { vector: v, kind: EventKind::ALL[i % 6], timestamp: 1e12 + i as f64 * 90_000.0 }).collect();
        let input = enc.prepare(&steps, 1e12 + 1e8).expect("prepares");
        let cpu_intent = enc.forward(&input).expect("forward");
        let items: Vec<f32> = (0..pool * dim).map(|_| rng.uniform()).collect();
        let cpu_scores = cosine_scores(&cpu_intent, &items, dim);

        let layout = Layout::new(enc.config(), pool);
        let mut act = vec![f32::NAN; layout.total]; // NaN: reading anything not written shows up
        act[layout.x..layout.x + input.x.len()].copy_from_slice(&input.x);
        act[layout.items..layout.items + items.len()].copy_from_slice(&items);
        let k = 10.min(MAX_TOP_K);
        for d in plan(enc.weights(), &layout, input.len, pool, k) {
            emulate(&d, &enc.weights().data, &mut act);
        }
        let intent = &act[layout.intent..layout.intent + dim];
        let diff = intent.iter().zip(&cpu_intent).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff < 1e-4, "d={dim}: plan intent differs by {diff}");
        let scores = &act[layout.scores..layout.scores + pool];
        let sdiff = scores.iter().zip(&cpu_scores).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(sdiff < 1e-4, "scores differ by {sdiff}");
        let top: Vec<u32> = act[layout.top..layout.top + k].iter().map(|v| v.to_bits()).collect();
        let mut want: Vec<u32> = (0..pool as u32).collect();
        want.sort_by(|&a, &b| cpu_scores[b as usize].total_cmp(&cpu_scores[a as usize]).then(a.cmp(&b)));
        want.resize(k, u32::MAX);
        assert_eq!(top, want);
        let rb = layout.readback(pool);
        assert!(rb.start == layout.intent && rb.end <= layout.items);
    }
}

/// A [`GpuDispatcher`] that runs each call through [`emulate`]: the engine's side of the GPU
/// path ([`Planned`]: layout growth, uploads, the call's encoding for the JS bridge, the
/// readback's decoding) checked natively against the CPU.
struct Emulated {
    weights: Vec<f32>,
    act: Vec<f32>,
    lost: std::cell::Cell<bool>,
    calls: usize,
}

fn params_from_bytes(b: &[u8]) -> Params {
    let w = |i: usize| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
    Params {
        rows: w(0), row_start: w(1), in_dim: w(2), out_dim: w(3), x_off: w(4), x_stride: w(5), y_off: w(6), y_stride: w(7), w_off: w(8), b_off: w(9), flags: w(10),
        heads: w(11), head_dim: w(12), count: w(13), k: w(14), aux_off: w(15), eps: f32::from_bits(w(16)), scale: f32::from_bits(w(17)),
    }
}

impl GpuDispatcher for Emulated {
    async fn create(weights: &[f32], _params_slots: usize) -> Result<Self, GpuError> {
        Ok(Emulated { weights: weights.to_vec(), act: Vec::new(), lost: false.into(), calls: 0 })
    }
    fn is_lost(&self) -> bool {
        self.lost.get()
    }
    fn destroy(&self) {
        self.lost.set(true);
    }
    async fn run(&mut self, call: GpuCall) -> Result<Vec<f32>, GpuError> {
        // Through the bridge's flat form and back, as the browser sends it.
        let call = GpuCall::from_parts(&call.header(), call.upload_data.clone(), call.params.clone(), &call.dispatches.concat()).expect("a planned call fits together");
        self.calls += 1;
        // Grown buffers start as NaN too: a region read before it is written shows up.
        self.act.resize(call.activations.max(self.act.len()), f32::NAN);
        let mut data = call.upload_data.as_slice();
        for &(at, len) in &call.uploads {
            self.act[at..at + len].copy_from_slice(&data[..len]);
            data = &data[len..];
        }
        for (i, d) in call.dispatches.iter().enumerate() {
            let at = i * PARAMS_STRIDE as usize;
            let dispatch = Dispatch { kernel: Kernel::ALL[d[0] as usize], params: params_from_bytes(&call.params[at..at + 72]), workgroups: [d[1], d[2], d[3]] };
            emulate(&dispatch, &self.weights, &mut self.act);
        }
        Ok(self.act[call.readback].to_vec())
    }
}

#[test]
fn kernels_cross_the_bridge_by_their_index() {
    for k in Kernel::ALL {
        assert_eq!(Kernel::ALL[k.index() as usize], k);
    }
    let bad = GpuCall::from_parts(&[10, 0, 4, 2, 20], vec![0.0; 20], vec![], &[]);
    assert_eq!(bad, None, "an upload past the activations is refused");
    assert_eq!(GpuCall::from_parts(&[10, 0, 4], vec![], vec![0; 256], &[5, 1, 1, 1]), None, "kernel 5 does not exist");
    assert_eq!(GpuCall::from_parts(&[10, 0], vec![], vec![], &[]), None);
}

#[test]
fn the_planned_device_equals_the_cpu_as_pools_grow_and_after_a_loss() {
    let dim = 16;
    let (bytes, json) = random_model(dim, 4, 2, 12, 32, Precision::F32, 3).expect("fixture");
    let rt: ModelRuntime<Planned<Emulated>> = ModelRuntime::new(IntentEncoder::load(&bytes, &json).expect("loads"), "test");
    let mut rng = SplitMix(11);
    let vectors: Vec<Vec<f32>> = (0..20).map(|_| (0..dim).map(|_| rng.uniform()).collect()).collect();
    // Pools below and above the first capacity (256), then smaller again in the grown buffer.
    for (n, pool) in [(3usize, 5usize), (12, 300), (20, 1000), (7, 2), (1, 0)] {
        let steps: Vec<EncoderStep> = vectors[..n].iter().enumerate().map(|(i, v)| EncoderStep { vector: v, kind: EventKind::ALL[i % 6], timestamp: i as f64 * 60_000.0 }).collect();
        let items: Vec<f32> = (0..pool * dim).map(|_| rng.uniform()).collect();
        let now = 1e7;
        rt.forget_last_intent();
        let gpu = futures::executor::block_on(rt.encode_and_score(&steps, now, &items, 10, BackendChoice::Webgpu)).expect("runs");
        assert_eq!(gpu.backend, Backend::Webgpu, "{:?}", gpu.fallback);
        rt.forget_last_intent();
        let cpu = futures::executor::block_on(rt.encode_and_score(&steps, now, &items, 10, BackendChoice::Cpu)).expect("runs");
        let diff = gpu.intent.iter().zip(&cpu.intent).chain(gpu.scores.iter().zip(&cpu.scores)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff < 1e-4, "history {n}, pool {pool}: differs by {diff}");
        assert_eq!(gpu.top, cpu.top, "history {n}, pool {pool}");
        assert_eq!(gpu.scores.len(), pool);
        // Score-only calls (a given intent) too.
        let scored = futures::executor::block_on(rt.score(&cpu.intent, &items, 10, BackendChoice::Webgpu)).expect("scores");
        assert_eq!((scored.backend, &scored.top), (Backend::Webgpu, &cpu.top));
    }
    rt.simulate_device_loss();
    let v = vec![0.2f32; dim];
    let steps = [EncoderStep { vector: &v, kind: EventKind::View, timestamp: 0.0 }];
    let items = vec![0.5f32; 4 * dim];
    // The lost device is replaced on the next call (`take_gpu`), which equals the CPU again.
    let next = futures::executor::block_on(rt.encode_and_score(&steps, 1e3, &items, 2, BackendChoice::Webgpu)).expect("completes");
    rt.forget_last_intent();
    let cpu = futures::executor::block_on(rt.encode_and_score(&steps, 1e3, &items, 2, BackendChoice::Cpu)).expect("completes");
    assert_eq!(next.top, cpu.top);
    assert_eq!(next.backend, Backend::Webgpu, "a new device replaces the lost one: {:?}", next.fallback);
}
