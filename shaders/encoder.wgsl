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

// y[row, o] = b[o] + sum_i x[row, i] * W[i, o]   (W row-major [in, out]). One thread per
// (output o, group of 4 rows): each weight is loaded once for 4 rows. Rows past the end of
// the batch re-read the last row (no branch in the loop) and are not stored.
@compute @workgroup_size(WG)
fn linear(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o = gid.x;
    let r0 = gid.y * 4u;
    if (o >= p.out_dim || r0 >= p.rows) { return; }
    let last = p.rows - 1u - r0;
    let x0 = p.x_off + (p.row_start + r0) * p.x_stride;
    let x1 = x0 + min(1u, last) * p.x_stride;
    let x2 = x0 + min(2u, last) * p.x_stride;
    let x3 = x0 + min(3u, last) * p.x_stride;
    var acc = vec4<f32>(w[p.b_off + o]);
    for (var i = 0u; i < p.in_dim; i++) {
        let wv = w[p.w_off + i * p.out_dim + o];
        acc += vec4<f32>(act[x0 + i], act[x1 + i], act[x2 + i], act[x3 + i]) * wv;
    }
    for (var k = 0u; k < 4u; k++) {
        if (k > last) { break; }
        var v = acc[k];
        if ((p.flags & 1u) != 0u) { v = gelu_tanh(v); }
        let y = p.y_off + (p.row_start + r0 + k) * p.y_stride + o;
        if ((p.flags & 2u) != 0u) { act[y] = act[y] + v; } else { act[y] = v; }
    }
}

fn attention_score(q0: u32, j: u32, h: u32, d: u32) -> f32 {
    let k0 = p.x_off + j * p.x_stride + d + h * p.head_dim;
    var s = 0.0;
    for (var c = 0u; c < p.head_dim; c++) { s += act[q0 + c] * act[k0 + c]; }
    return s * p.scale;
}

// Causal multi-head attention, one thread per (query row, head): qkv rows are [q | k | v] of
// width 3*dim at x_off; the head's output goes to y_off + row * y_stride. Softmax in three
// passes over the keys (max, sum, weighted values), recomputing the q·k dots instead of
// keeping them in workgroup memory: no barriers and no shared arrays, which keeps pipeline
// compilation cheap (a shared-memory version took ~0.8 s to compile on SwiftShader).
@compute @workgroup_size(WG)
fn attention(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.rows) { return; }
    let i = p.row_start + gid.x;
    let h = gid.y;
    let d = p.heads * p.head_dim;
    let q0 = p.x_off + i * p.x_stride + h * p.head_dim;
    var m = attention_score(q0, 0u, h, d);
    for (var j = 1u; j <= i; j++) { m = max(m, attention_score(q0, j, h, d)); }
    var z = 0.0;
    for (var j = 0u; j <= i; j++) { z += exp(attention_score(q0, j, h, d) - m); }
    let y0 = p.y_off + i * p.y_stride + h * p.head_dim;
    for (var c = 0u; c < p.head_dim; c++) { act[y0 + c] = 0.0; }
    for (var j = 0u; j <= i; j++) {
        let pj = exp(attention_score(q0, j, h, d) - m) / z;
        let v0 = p.x_off + j * p.x_stride + 2u * d + h * p.head_dim;
        for (var c = 0u; c < p.head_dim; c++) { act[y0 + c] += pj * act[v0 + c]; }
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

// Most indices top_k returns (gpu::plan::MAX_TOP_K).
const MAX_K: u32 = 64u;

// The k best scores' indices, best first (higher score first, then lower index), by one
// invocation keeping a sorted list of k in private memory while it scans the scores once.
// Deliberately single-threaded and barrier-free: a workgroup tree reduction compiled ~10x
// slower on SwiftShader, and one pass over even 50k scores is cheap next to the readback.
// Indices are stored as f32 bit patterns (0xffffffff when there are fewer than k items).
@compute @workgroup_size(1)
fn top_k() {
    var best_s: array<f32, MAX_K>;
    var best_i: array<u32, MAX_K>;
    let k = min(p.k, MAX_K);
    if (k == 0u) { return; }
    var filled = 0u;
    for (var r = 0u; r < p.count; r++) {
        let s = act[p.aux_off + r];
        // Full and not strictly better than the k-th: a tie loses to the lower index kept.
        if (filled == k && !(s > best_s[k - 1u])) { continue; }
        var j = min(filled, k - 1u);
        while (j > 0u && s > best_s[j - 1u]) {
            best_s[j] = best_s[j - 1u];
            best_i[j] = best_i[j - 1u];
            j--;
        }
        best_s[j] = s;
        best_i[j] = r;
        if (filled < k) { filled++; }
    }
    for (var t = 0u; t < k; t++) {
        act[p.y_off + t] = bitcast<f32>(select(0xffffffffu, best_i[t], t < filled));
    }
}
