#!/usr/bin/env bash
# The C ABI from C, under valgrind: tests/ffi_c.rs compiles tests/c/route_test.c
# with the system C compiler against the staticlib cargo built and the
# committed include/aurora_router.h, runs it on the shipped profile under
# memcheck (no leaks, no invalid accesses: --error-exitcode=1
# --leak-check=full --errors-for-leak-kinds=definite,indirect) and compares
# every decision with the Rust Router's.
#
# Needs valgrind and a C compiler (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || {
  echo "test-c: valgrind not found (apt-get install valgrind)" >&2
  exit 1
}
# The test executable from the same build as `cargo test --workspace` (a
# narrower selection such as `--test ffi_c` resolves features differently and
# would rebuild the library).
exe=$(cargo test --workspace --features cli,uniffi,schema,serve --no-run --message-format=json 2>/dev/null |
  grep '"name":"ffi_c"' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | head -n 1)
[ -n "$exe" ] || {
  echo "test-c: cannot find the ffi_c test executable" >&2
  exit 1
}
AURORA_VALGRIND=1 "$exe" --nocapture
