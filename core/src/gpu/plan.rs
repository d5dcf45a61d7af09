//! What the WebGPU forward pass dispatches, as plain data: the activation-buffer layout and the
//! ordered list of kernel launches with their `Params`. Kept free of wgpu so it is built and
//! tested natively (tests/runtime_plan.rs runs a plan through a CPU emulation of the kernels
//! and checks it equals `IntentEncoder::forward`); the web crate's wgpu runtime only turns it into GPU calls. The
//! WGSL source itself ships with that runtime (`localrank::gpu::SHADER`).

use crate::model::{ModelConfig, Weights};

/// Threads per workgroup for every kernel but the single-invocation top-k, passed to the WGSL
/// `override WG` constant.
pub const WORKGROUP_SIZE: u32 = 64;
/// Longest history the GPU path takes. The kernels have no hard limit (attention keeps no
/// per-key state); this bounds the uniform values and the work of one attention thread.
pub const MAX_KEYS: usize = 1024;
/// Most top-k indices one call returns (the shader's `MAX_K`).
pub const MAX_TOP_K: usize = 64;
/// Params slots sit at this stride in the uniform buffer (WebGPU's default
/// minUniformBufferOffsetAlignment).
pub const PARAMS_STRIDE: u64 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    LayerNorm,
    Linear,
    Attention,
    Cosine,
    TopK,
}

impl Kernel {
    pub const ALL: [Kernel; 5] = [Kernel::LayerNorm, Kernel::Linear, Kernel::Attention, Kernel::Cosine, Kernel::TopK];

    /// Its position in [`Kernel::ALL`]: how a dispatch names it across the JS boundary.
    pub fn index(self) -> u32 {
        self as u32
    }

    pub fn entry_point(self) -> &'static str {
        match self {
            Kernel::LayerNorm => "layer_norm",
            Kernel::Linear => "linear",
            Kernel::Attention => "attention",
            Kernel::Cosine => "cosine",
            Kernel::TopK => "top_k",
        }
    }
}

/// Rows one `linear` thread computes (the shader's 4-row tile).
pub const LINEAR_ROWS: u32 = 4;

pub const FLAG_GELU: u32 = 1;
pub const FLAG_RESIDUAL: u32 = 2;

/// The shader's `Params` struct, field for field (16 u32 then 2 f32).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Params {
    pub rows: u32,
    pub row_start: u32,
    pub in_dim: u32,
    pub out_dim: u32,
    pub x_off: u32,
    pub x_stride: u32,
    pub y_off: u32,
    pub y_stride: u32,
    pub w_off: u32,
    pub b_off: u32,
    pub flags: u32,
    pub heads: u32,
    pub head_dim: u32,
    pub count: u32,
    pub k: u32,
    pub aux_off: u32,
    pub eps: f32,
    pub scale: f32,
}

impl Params {
    /// Little-endian bytes in the shader's uniform layout.
    pub fn to_bytes(&self) -> [u8; 72] {
        let words = [
            self.rows, self.row_start, self.in_dim, self.out_dim, self.x_off, self.x_stride, self.y_off, self.y_stride, self.w_off, self.b_off, self.flags,
            self.heads, self.head_dim, self.count, self.k, self.aux_off, self.eps.to_bits(), self.scale.to_bits(),
        ];
        let mut out = [0u8; 72];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispatch {
    pub kernel: Kernel,
    pub params: Params,
    pub workgroups: [u32; 3],
}

/// Offsets (in f32 elements) of every region of the activation buffer, for a model and a
/// candidate-pool capacity. The readback region — intent, scores, top-k — is contiguous so
/// one copy and one map read all results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub dim: usize,
    pub max_len: usize,
    pub pool_capacity: usize,
    pub x: usize,
    pub a: usize,
    pub qkv: usize,
    pub att: usize,
    pub hidden: usize,
    pub intent: usize,
    pub scores: usize,
    pub top: usize,
    pub items: usize,
    pub total: usize,
}

impl Layout {
    pub fn new(c: &ModelConfig, pool_capacity: usize) -> Layout {
        let (d, l, f) = (c.dim, c.max_len, c.ffn_dim);
        let x = 0;
        let a = x + l * d;
        let qkv = a + l * d;
        let att = qkv + l * 3 * d;
        let hidden = att + l * d;
        let intent = hidden + l * f;
        let scores = intent + d;
        let top = scores + pool_capacity;
        let items = top + MAX_TOP_K;
        let total = items + pool_capacity * d;
        Layout { dim: d, max_len: l, pool_capacity, x, a, qkv, att, hidden, intent, scores, top, items, total }
    }

    /// Readback range (f32 elements) for `pool` candidates and `k` top indices.
    pub fn readback(&self, pool: usize) -> std::ops::Range<usize> {
        self.intent..self.top + MAX_TOP_K.min(pool.max(1))
    }
}

/// Why the GPU path cannot run this model (the caller computes on the CPU instead).
pub fn unsupported(c: &ModelConfig) -> Option<String> {
    if c.max_len > MAX_KEYS {
        return Some(format!("max_len {} exceeds the WebGPU kernels' {MAX_KEYS}", c.max_len));
    }
    None
}

fn groups(n: usize) -> u32 {
    (n as u32).div_ceil(WORKGROUP_SIZE).max(1)
}

/// The dispatches of one call. `n` = history length already on the GPU at `layout.x` (0 = no
/// forward: the intent was uploaded to `layout.intent`), `pool` candidates at `layout.items`,
/// `k` top indices wanted (0 = no top-k).
pub fn plan(w: &Weights, layout: &Layout, n: usize, pool: usize, k: usize) -> Vec<Dispatch> {
    let c = &w.config;
    let (d, f) = (c.dim as u32, c.ffn_dim as u32);
    let eps = c.layer_norm_eps as f32;
    let o = |span: crate::model::Span| span.offset as u32;
    let mut out = Vec::new();
    if n > 0 {
        let n32 = n as u32;
        for (bi, b) in w.blocks.iter().enumerate() {
            let last = bi + 1 == w.blocks.len();
            // Rows whose queries/FFN are computed: all in early blocks, the last in the final one.
            let (q_start, q_rows) = if last { (n32 - 1, 1) } else { (0, n32) };
            let base = Params { eps, ..Params::default() };
            out.push(Dispatch {
                kernel: Kernel::LayerNorm,
                params: Params { rows: n32, in_dim: d, x_off: layout.x as u32, x_stride: d, y_off: layout.a as u32, y_stride: d, w_off: o(b.ln1_gamma), b_off: o(b.ln1_beta), ..base },
                workgroups: [groups(n), 1, 1],
            });
            out.push(Dispatch {
                kernel: Kernel::Linear,
                params: Params { rows: n32, in_dim: d, out_dim: 3 * d, x_off: layout.a as u32, x_stride: d, y_off: layout.qkv as u32, y_stride: 3 * d, w_off: o(b.qkv_weight), b_off: o(b.qkv_bias), ..base },
                workgroups: [groups(3 * c.dim), n32.div_ceil(LINEAR_ROWS), 1],
            });
            let head_dim = (c.dim / c.heads) as u32;
            out.push(Dispatch {
                kernel: Kernel::Attention,
                params: Params {
                    rows: q_rows,
                    row_start: q_start,
                    x_off: layout.qkv as u32,
                    x_stride: 3 * d,
                    y_off: layout.att as u32,
                    y_stride: d,
                    heads: c.heads as u32,
                    head_dim,
                    scale: 1.0 / (head_dim as f32).sqrt(),
                    ..base
                },
                workgroups: [groups(q_rows as usize), c.heads as u32, 1],
            });
            out.push(Dispatch {
                kernel: Kernel::Linear,
                params: Params { rows: q_rows, row_start: q_start, in_dim: d, out_dim: d, x_off: layout.att as u32, x_stride: d, y_off: layout.x as u32, y_stride: d, w_off: o(b.o_weight), b_off: o(b.o_bias), flags: FLAG_RESIDUAL, ..base },
                workgroups: [groups(c.dim), q_rows.div_ceil(LINEAR_ROWS), 1],
            });
            out.push(Dispatch {
                kernel: Kernel::LayerNorm,
                params: Params { rows: q_rows, row_start: q_start, in_dim: d, x_off: layout.x as u32, x_stride: d, y_off: layout.a as u32, y_stride: d, w_off: o(b.ln2_gamma), b_off: o(b.ln2_beta), ..base },
                workgroups: [groups(q_rows as usize), 1, 1],
            });
            out.push(Dispatch {
                kernel: Kernel::Linear,
                params: Params { rows: q_rows, row_start: q_start, in_dim: d, out_dim: f, x_off: layout.a as u32, x_stride: d, y_off: layout.hidden as u32, y_stride: f, w_off: o(b.up_weight), b_off: o(b.up_bias), flags: FLAG_GELU, ..base },
                workgroups: [groups(c.ffn_dim), q_rows.div_ceil(LINEAR_ROWS), 1],
            });
            out.push(Dispatch {
                kernel: Kernel::Linear,
                params: Params { rows: q_rows, row_start: q_start, in_dim: f, out_dim: d, x_off: layout.hidden as u32, x_stride: f, y_off: layout.x as u32, y_stride: d, w_off: o(b.down_weight), b_off: o(b.down_bias), flags: FLAG_RESIDUAL, ..base },
                workgroups: [groups(c.dim), q_rows.div_ceil(LINEAR_ROWS), 1],
            });
        }
        // Final norm of the last row, written straight into the intent slot.
        out.push(Dispatch {
            kernel: Kernel::LayerNorm,
            params: Params { rows: 1, in_dim: d, x_off: (layout.x + (n - 1) * c.dim) as u32, x_stride: d, y_off: layout.intent as u32, y_stride: d, w_off: o(w.ln_final_gamma), b_off: o(w.ln_final_beta), eps, ..Params::default() },
            workgroups: [1, 1, 1],
        });
    }
    if pool > 0 {
        out.push(Dispatch {
            kernel: Kernel::Cosine,
            params: Params { count: pool as u32, in_dim: d, x_off: layout.items as u32, y_off: layout.scores as u32, aux_off: layout.intent as u32, ..Params::default() },
            workgroups: [groups(pool), 1, 1],
        });
        if k > 0 {
            out.push(Dispatch {
                kernel: Kernel::TopK,
                params: Params { count: pool as u32, k: k.min(MAX_TOP_K) as u32, aux_off: layout.scores as u32, y_off: layout.top as u32, ..Params::default() },
                workgroups: [1, 1, 1],
            });
        }
    }
    out
}
