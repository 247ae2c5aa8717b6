#!/usr/bin/env bash
# Regenerates every generated interface file of Aurora Router:
#
#   include/aurora_router.h  the C ABI's header (cbindgen over src/ffi/,
#                            configured by cbindgen.toml)
#   bindings/kotlin/         Kotlin (uniffi, library mode; JVM flavour)
#   bindings/swift/          Swift sources, the AuroraRouterFFI C header and
#                            its XCFramework modulemap (uniffi-bindgen-swift)
#
# uniffi reads the API from the metadata compiled into the library, so the
# generators run on an unstripped build: the debug cdylib (stripped libraries
# carry no uniffi metadata). The generators are the workspace's
# `uniffi-bindgen` crate (not a default member: uniffi's `cli` feature stays
# out of the library). Output is not run through ktlint / swift-format, so it
# does not depend on what is installed.
#
#   bash scripts/gen-bindings.sh           # write the files
#   bash scripts/gen-bindings.sh --check   # generate into a temporary
#                                          # directory; fail if the committed
#                                          # files differ (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

mode="write"
case "${1:-}" in
  --check) mode="check" ;;
  "") ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

# The cdylib (feature `uniffi`) and the generators. With the features
# of scripts/test.sh and --tests, features resolve exactly as in its `cargo test` (dev-
# dependencies included), so after the tests this rebuilds nothing.
cargo build --quiet --workspace --features cli,uniffi,schema,serve --bins --tests
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/debug"
so=libaurora_router.so
[ "$(uname -s)" = Darwin ] && so=libaurora_router.dylib
# deps/ holds the library of the last build (the profile directory's copy is
# only refreshed when the library itself is a build root).
lib="$bin/deps/$so"
[ -f "$lib" ] || lib="$bin/$so"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$bin/gen-header" . "$out/aurora_router.h"
"$bin/uniffi-bindgen" generate --no-format --metadata-no-deps --config bindings/uniffi.toml \
  --language kotlin --out-dir "$out/kotlin" "$lib" >/dev/null
"$bin/uniffi-bindgen-swift" --swift-sources --headers --metadata-no-deps \
  --config bindings/uniffi.toml "$lib" "$out/swift" >/dev/null
# `framework module AuroraRouterFFI`, for the framework bundles inside the
# XCFramework (scripts/build-xcframework.sh).
"$bin/uniffi-bindgen-swift" --modulemap --xcframework --module-name AuroraRouterFFI \
  --modulemap-filename module.modulemap --metadata-no-deps \
  --config bindings/uniffi.toml "$lib" "$out/swift" >/dev/null

# The generated files and where they are committed.
pairs=(
  "$out/aurora_router.h:include/aurora_router.h"
  "$out/kotlin/aurora/router/aurora_router.kt:bindings/kotlin/aurora/router/aurora_router.kt"
  "$out/swift/AuroraRouter.swift:bindings/swift/AuroraRouter.swift"
  "$out/swift/AuroraRouterFFI.h:bindings/swift/AuroraRouterFFI.h"
  "$out/swift/module.modulemap:bindings/swift/module.modulemap"
)

stale=0
for pair in "${pairs[@]}"; do
  src=${pair%%:*}
  dst=${pair#*:}
  if [ ! -f "$src" ]; then
    echo "gen-bindings: the generator did not write $(basename "$src")" >&2
    exit 1
  fi
  if [ "$mode" = check ]; then
    if ! diff -u "$dst" "$src" >"$out/diff" 2>&1; then
      echo "gen-bindings: $dst is stale:" >&2
      head -n 40 "$out/diff" >&2
      stale=1
    fi
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
    echo "wrote $dst"
  fi
done

if [ "$stale" -ne 0 ]; then
  echo "gen-bindings: run 'bash scripts/gen-bindings.sh' and commit the result" >&2
  exit 1
fi
[ "$mode" = check ] && echo "gen-bindings: header and bindings are up to date"
exit 0
