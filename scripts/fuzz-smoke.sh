#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ briefly: a fixed number of runs
# (FUZZ_RUNS, default 4000) starting from the committed corpus
# (fuzz/corpus/<target>), without writing to it. Fails on any crash, panic,
# or exceeded time/memory limit.
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer, sanitizer coverage):
# on the stable toolchain RUSTC_BOOTSTRAP=1 enables them. Needs `cargo
# install cargo-fuzz`. See RELIABILITY.md.
#
#   scripts/fuzz-smoke.sh             # build + every target
#   scripts/fuzz-smoke.sh npy ffi     # some targets
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
runs=${FUZZ_RUNS:-4000}
# No sanitizer: the targets look for panics, aborts, timeouts and memory
# blow-ups in (safe) Rust; -s none runs several times faster. Set
# FUZZ_SANITIZER=address for ASan.
flags=(-s "${FUZZ_SANITIZER:-none}" --codegen-units 16)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
  exit 1
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build "${flags[@]}"
scratch=$(mktemp -d)
# The readers' targets write their input to a file: on tmpfs when there is
# one (10x faster than a disk).
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$scratch
TMPDIR=$(mktemp -d "$shm/aurora-fuzz.XXXXXX")
export TMPDIR
trap 'rm -rf "$scratch" "$TMPDIR"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "artifacts/$t"
  start=$(date +%s.%N)
  # New inputs go to the scratch corpus (first directory); the committed
  # corpus is only read.
  cargo fuzz run "${flags[@]}" "$t" "$scratch/$t" "corpus/$t" -- \
    -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="artifacts/$t/" >"$scratch/$t.log" 2>&1 || {
    tail -n 40 "$scratch/$t.log" >&2
    echo "fuzz-smoke: $t FAILED; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  }
  end=$(date +%s.%N)
  done_line=$(grep -E "^Done [0-9]+ runs" "$scratch/$t.log" || true)
  printf 'fuzz-smoke: %-20s ok  %6.1f s  %s\n' "$t" "$(echo "$end - $start" | bc)" "$done_line"
done
