#!/usr/bin/env bash
# Installs what building and testing localrank needs, skipping whatever is already there.
#   scripts/setup.sh build   — Rust wasm32 target, wasm-bindgen CLI, npm dependencies
#   scripts/setup.sh test    — the above, plus wasm-pack, Debian's Chromium + ChromeDriver and
#                              Mesa's software Vulkan driver (the GPU build's smoke test)
# Safe to run repeatedly: a warm machine finishes in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-test}"
say() { printf 'setup: %s\n' "$*"; }

# The wasm-bindgen CLI must match the crate's pinned wasm-bindgen exactly; read it from the
# one place it is written.
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml | head -n1)"
WASM_PACK_VERSION="0.15.1"
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: cannot find the pinned wasm-bindgen version in Cargo.toml" >&2; exit 1; }

export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Without --locked: one of its locked dependencies is no longer on the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ "$mode" = test ]; then
  if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
    say "installing wasm-pack $WASM_PACK_VERSION (a few minutes, once)"
    cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
  fi
  # Debian packages: Chromium + ChromeDriver for the browser suites, and Mesa's software
  # Vulkan driver (lavapipe) so the trainer's `gpu` build has an adapter to run its smoke
  # test on (model/tests/gpu.rs) on machines without a GPU.
  apt_packages=()
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_packages+=(chromium chromium-driver)
  fi
  if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
    apt_packages+=(mesa-vulkan-drivers)
  fi
  if [ "${#apt_packages[@]}" -gt 0 ]; then
    say "installing Debian's ${apt_packages[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_packages[@]}" >/dev/null
  fi
fi

# npm dependencies (playwright-core, binaryen, typescript, vite, webpack, next, react): reinstall only when the lock file changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "ready ($mode): wasm-bindgen $WASM_BINDGEN_VERSION$([ "$mode" = test ] && echo ", wasm-pack $WASM_PACK_VERSION, $(chromium --version 2>/dev/null)")"
