#!/usr/bin/env bash
# Every check CI runs: formatting, lints, the tests on x86-64 and on aarch64
# (under qemu), the bindgen reproduction check, and the mobile staticlibs.
# Run scripts/setup.sh once first on a new machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "the mobile library has no CLI dependencies"
if cargo tree -e normal --no-default-features -p aurora-router --prefix none | grep -E '^(clap|indicatif) '; then
  echo "CLI dependencies leaked into the library" >&2
  exit 1
fi

step "tests (x86-64)"
cargo test --workspace

step "tests (aarch64, under qemu)"
cargo test --workspace --target aarch64-unknown-linux-gnu

step "bindgen regenerates the checked-in bindings"
cargo test -p cactus-sys --features bindgen --test bindgen

for t in aarch64-apple-ios aarch64-linux-android; do
  step "staticlib for $t"
  cargo rustc -p aurora-router --lib --release --no-default-features --target "$t" --crate-type staticlib
done

echo
echo "all checks passed"
