#!/usr/bin/env bash
# Every check CI runs: formatting, lints, the tests on x86-64 and on aarch64
# (under qemu), the HTML report in headless Chromium, the C ABI under
# valgrind and ASan/LSan, the Kotlin bindings on the JVM, the
# generated header / bindings check, shellcheck, the bindgen reproduction
# check, and the mobile staticlibs (with the uniffi API, as apps ship them).
# Run scripts/setup.sh once first on a new machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# The library's default features build the library only; CI builds and
# tests everything: the `aurora` binary (cli), the Swift / Kotlin surface
# (uniffi) and the schema generator (schema). Every script below that
# reuses this build passes the same features, so nothing is rebuilt.
# `serve` (the HTTP service: axum, tokio) is built and tested on x86-64 only.
features=cli,uniffi,schema,serve

# A one-off build gains nothing from incremental caches, which cost
# gigabytes of disk and link time.
export CARGO_INCREMENTAL=0

# Each step's header also says how long the run has taken so far.
step() { printf '\n==> %s  (%dm%02ds elapsed)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --features "$features" -- -D warnings

step "the library (default features) has no CLI dependencies and builds on its own"
if cargo tree -e normal -p aurora-router --prefix none | grep -E '^(clap|indicatif|uniffi|schemars|tokio|axum) '; then
  echo "CLI, uniffi, schema or serve dependencies leaked into the default library" >&2
  exit 1
fi
cargo check -p aurora-router --lib

step "layering: no module imports a layer above it"
bash scripts/check-layers.sh

step "tests (x86-64)"
cargo test --workspace --features "$features"

step "aurora report in headless Chromium"
FEATURES="$features" bash scripts/test-report.sh

step "the C ABI from C, under valgrind"
bash scripts/test-c.sh

step "the C ABI from C, under AddressSanitizer + LeakSanitizer + UBSan"
bash scripts/test-c-asan.sh

step "the Kotlin bindings on the JVM"
bash scripts/test-kotlin.sh

step "the C header and the Swift / Kotlin bindings are up to date"
bash scripts/gen-bindings.sh --check

step "shellcheck"
shellcheck scripts/*.sh .ci/run

step "tests (aarch64, under qemu)"
# Every test of the workspace but the bindings generator (a host tool);
# tests that spawn the aarch64 `aurora` binary run it through qemu
# (tests/common/mod.rs: emulator()).
# Doc tests run on x86-64 above; compiling each one again for aarch64
# would only add minutes.
cargo test --workspace --exclude uniffi-bindgen --features cli,uniffi --target aarch64-unknown-linux-gnu --lib --bins --tests

step "bindgen regenerates the checked-in bindings"
cargo test -p cactus-sys --features bindgen --test bindgen

for t in aarch64-apple-ios aarch64-linux-android; do
  step "staticlib for $t"
  cargo rustc -p aurora-router --lib --release --no-default-features --features uniffi --target "$t" --crate-type staticlib
done

echo
echo "all checks passed in $((SECONDS / 60))m$((SECONDS % 60))s"
