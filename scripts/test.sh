#!/usr/bin/env bash
# Every test suite, in order of speed; stops at the first failing suite. Run through
# `npm test`, which installs what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

echo "== native: cargo test --workspace"
# One test thread: burn's RNG seed is process-global, so two training tests running at once
# draw from each other's stream and model/tests/training.rs::training_is_deterministic_for_a_seed
# fails now and then (seen once in five runs). The native suite takes seconds either way.
RUST_TEST_THREADS=1 cargo test --workspace

echo "== native GPU build: the trainer with --features gpu, smoke test on Mesa's software Vulkan"
# The largest compile of the suite (burn-wgpu, cubecl, wgpu), in its own unoptimised profile
# (Cargo.toml: profile.gpu-smoke). A tiny model trains on the adapter and scores as on the CPU.
cargo test --profile gpu-smoke -p localrank-model --features gpu --test gpu

echo "== browser: wasm-pack test --headless --chrome (WebGPU on, see webdriver.json)"
wasm-pack test --headless --chrome

echo "== package + JS: build pkg/, type-check the public types, then node --test in Chromium"
node scripts/build.mjs
for config in tests/types/tsconfig*.json; do
  node_modules/.bin/tsc -p "$config"
done
echo "types: tests/types/*.ts compile against js/*.d.ts and pkg/localrank.d.ts (skipLibCheck off) under $(ls tests/types/tsconfig*.json | xargs -n1 basename | tr '\n' ' ')"
echo "== publish check: npm pack contents and size, npm publish --dry-run, cargo package (localrank-core + localrank, verified)"
node scripts/check-package.mjs --cargo
node --test --test-concurrency=1 tests/js/

echo "== bundlers: the packed package installed in fresh Vite 8, Vite 7, webpack 5 and Next.js projects, no localrank config, in Chromium"
node --test --test-concurrency=1 tests/bundlers/

echo "== end to end: the candidate service (localrank-server, small fixture) + the storefront built by Vite, in Chromium"
node --test --test-concurrency=1 tests/e2e/
