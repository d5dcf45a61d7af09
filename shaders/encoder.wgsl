// The intent encoder and candidate scoring as WGSL compute kernels.
//
// Every kernel shares one bind group: the model's weights (one f32 buffer, tensors addressed
// by offset — the same layout as the CPU's `Weights::data`), one read-write activation buffer
// (inputs, intermediates and outputs at offsets the Rust plan computes), and a uniform
// `Params` slot selected per dispatch with a dynamic offset. One bind group and one pipeline
// layout for all kernels lets a whole forward pass + scoring go into one compute pass.
//
// The math mirrors src/model/encoder.rs (the CPU reference) operation for operation, so the
// two agree to float rounding.

// Threads per workgroup, set once from Rust (`gpu::plan::WORKGROUP_SIZE`) as a pipeline constant.
override WG: u32 = 64u;

// Shared-memory capacities. The Rust side refuses the GPU path for models beyond them.
const MAX_KEYS: u32 = 1024u;   // longest attention window (model max_len)
const MAX_WG: u32 = 256u;      // largest workgroup the top-k reduction supports

struct Params {
    rows: u32,        // rows this dispatch processes
    row_start: u32,   // first row (sequence position) processed
    in_dim: u32,
    out_dim: u32,
    x_off: u32,       // activation offset of row 0 of the input
    x_stride: u32,
    y_off: u32,       // activation offset of row 0 of the output
    y_stride: u32,
    w_off: u32,       // weight offsets: matrix / gamma
    b_off: u32,       // bias / beta
    flags: u32,       // linear: bit 0 = GELU, bit 1 = add into the output (residual)
    heads: u32,
    head_dim: u32,
    count: u32,       // cosine: items; top-k: items
    k: u32,           // top-k: how many
    aux_off: u32,     // cosine: query offset; top-k: scores offset
    eps: f32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> act: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// y = (x - mean) / sqrt(var + eps) * gamma + beta, one thread per row.
@compute @workgroup_size(WG)
fn layer_norm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= p.rows) { return; }
    let row = p.row_start + r;
    let x0 = p.x_off + row * p.x_stride;
    let y0 = p.y_off + row * p.y_stride;
    let n = f32(p.in_dim);
    var sum = 0.0;
    for (var i = 0u; i < p.in_dim; i++) { sum += act[x0 + i]; }
    let mean = sum / n;
    var sq = 0.0;
    for (var i = 0u; i < p.in_dim; i++) { let c = act[x0 + i] - mean; sq += c * c; }
    let inv = 1.0 / sqrt(sq / n + p.eps);
    for (var i = 0u; i < p.in_dim; i++) {
        act[y0 + i] = (act[x0 + i] - mean) * inv * w[p.w_off + i] + w[p.b_off + i];
    }
}

fn gelu_tanh(x: f32) -> f32 {
    // tanh() of large arguments is NaN on some drivers (exp overflow); clamp where tanh is ±1.
    let u = clamp(0.7978846 * (x + 0.044715 * x * x * x), -15.0, 15.0);
    return 0.5 * x * (1.0 + tanh(u));
}

// y[row, o] = b[o] + sum_i x[row, i] * W[i, o]   (W row-major [in, out]); thread per (o, row).
@compute @workgroup_size(WG)
fn linear(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o = gid.x;
    let r = gid.y;
    if (o >= p.out_dim || r >= p.rows) { return; }
    let row = p.row_start + r;
    let x0 = p.x_off + row * p.x_stride;
    var acc = w[p.b_off + o];
    for (var i = 0u; i < p.in_dim; i++) {
        acc += act[x0 + i] * w[p.w_off + i * p.out_dim + o];
    }
    if ((p.flags & 1u) != 0u) { acc = gelu_tanh(acc); }
    let y = p.y_off + row * p.y_stride + o;
    if ((p.flags & 2u) != 0u) { act[y] = act[y] + acc; } else { act[y] = acc; }
}

var<workgroup> scores: array<f32, MAX_KEYS>;
var<workgroup> stats: vec2<f32>;

// Causal multi-head attention: one workgroup per (query row, head). qkv rows are
// [q | k | v] of width 3*dim at x_off; the head's output goes to y_off + row * y_stride.
@compute @workgroup_size(WG)
fn attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let i = p.row_start + wid.x;
    let h = wid.y;
    let d = p.heads * p.head_dim;
    let q0 = p.x_off + i * p.x_stride + h * p.head_dim;
    for (var j = t; j <= i; j += WG) {
        let k0 = p.x_off + j * p.x_stride + d + h * p.head_dim;
        var s = 0.0;
        for (var c = 0u; c < p.head_dim; c++) { s += act[q0 + c] * act[k0 + c]; }
        scores[j] = s * p.scale;
    }
    workgroupBarrier();
    if (t == 0u) {
        var m = scores[0];
        for (var j = 1u; j <= i; j++) { m = max(m, scores[j]); }
        var z = 0.0;
        for (var j = 0u; j <= i; j++) { z += exp(scores[j] - m); }
        stats = vec2<f32>(m, z);
    }
    workgroupBarrier();
    let m = stats.x;
    let z = stats.y;
    for (var c = t; c < p.head_dim; c += WG) {
        var acc = 0.0;
        for (var j = 0u; j <= i; j++) {
            acc += exp(scores[j] - m) / z * act[p.x_off + j * p.x_stride + 2u * d + h * p.head_dim + c];
        }
        act[p.y_off + i * p.y_stride + h * p.head_dim + c] = acc;
    }
}

// cos(query, item) for every item row: dot / max(|q| |v|, 1e-12), as rank::cosine_scores.
@compute @workgroup_size(WG)
fn cosine(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= p.count) { return; }
    let v0 = p.x_off + r * p.in_dim;
    var dot = 0.0;
    var qq = 0.0;
    var vv = 0.0;
    for (var c = 0u; c < p.in_dim; c++) {
        let q = act[p.aux_off + c];
        let v = act[v0 + c];
        dot += q * v;
        qq += q * q;
        vv += v * v;
    }
    act[p.y_off + r] = dot / max(sqrt(qq) * sqrt(vv), 1e-12);
}

var<workgroup> best_s: array<f32, MAX_WG>;
var<workgroup> best_i: array<u32, MAX_WG>;
var<workgroup> prev: vec2<u32>;

// True when (sa, ia) ranks before (sb, ib): higher score first, then lower index.
fn before(sa: f32, ia: u32, sb: f32, ib: u32) -> bool {
    return sa > sb || (sa == sb && ia < ib);
}

// The k best scores' indices, best first, by k rounds of a workgroup arg-max over the items
// that rank after the previous pick. One workgroup; indices are stored as f32 bit patterns
// (0xffffffff when there are fewer than k items).
@compute @workgroup_size(WG)
fn top_k(@builtin(local_invocation_index) t: u32) {
    let none = 0xffffffffu;
    if (t == 0u) { prev = vec2<u32>(bitcast<u32>(3.4e38), none); }
    workgroupBarrier();
    for (var round = 0u; round < p.k; round++) {
        let ps = bitcast<f32>(prev.x);
        let pi = prev.y;
        var bs = -3.4e38;
        var bi = none;
        for (var r = t; r < p.count; r += WG) {
            let s = act[p.aux_off + r];
            let after_prev = round == 0u || before(ps, pi, s, r);
            if (after_prev && (bi == none || before(s, r, bs, bi))) { bs = s; bi = r; }
        }
        best_s[t] = bs;
        best_i[t] = bi;
        workgroupBarrier();
        for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
            if (t < stride) {
                let os = best_s[t + stride];
                let oi = best_i[t + stride];
                if (oi != none && (best_i[t] == none || before(os, oi, best_s[t], best_i[t]))) {
                    best_s[t] = os;
                    best_i[t] = oi;
                }
            }
            workgroupBarrier();
        }
        if (t == 0u) {
            act[p.y_off + round] = bitcast<f32>(best_i[0]);
            prev = vec2<u32>(bitcast<u32>(best_s[0]), best_i[0]);
        }
        workgroupBarrier();
    }
}
