#!/usr/bin/env bash
# The C ABI from C under AddressSanitizer + LeakSanitizer + UBSan: the same
# program and checks as scripts/test-c.sh (tests/ffi_c.rs runs
# tests/c/route_test.c and routes_test.c and compares every decision with
# the Rust Router's and RouteSet's),
# compiled with -fsanitize=address,undefined. Any invalid access, leak or UB
# fails it. Uses $CC, else clang when installed (Debian: clang-14 +
# libclang-rt-14-dev), else gcc (libasan).
set -euo pipefail
cd "$(dirname "$0")/.."
# The test executable of test.sh's build. CC is chosen after this and given
# to the test only: exported to cargo it would rebuild every crate whose
# build script compiles C.
exe=$(cargo test --workspace --features cli,uniffi,schema,serve --no-run --message-format=json 2>/dev/null |
  grep '"name":"ffi_c"' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | head -n 1)
[ -n "$exe" ] || {
  echo "test-c-asan: cannot find the ffi_c test executable" >&2
  exit 1
}
if [ -z "${CC:-}" ]; then
  if command -v clang >/dev/null && echo 'int main(void){return 0;}' |
    clang -fsanitize=address -x c - -o /dev/null 2>/dev/null; then
    CC=clang
  else
    CC=gcc
  fi
fi
echo "test-c-asan: $CC -fsanitize=address,undefined"
CC="$CC" AURORA_ASAN=1 "$exe" --nocapture
