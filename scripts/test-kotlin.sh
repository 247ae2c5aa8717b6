#!/usr/bin/env bash
# The Kotlin bindings, for real: compiles bindings/kotlin/ (the generated
# sources) and bindings/kotlin/tests/ with kotlinc against JNA, and runs the
# tests on the JVM with the x86-64 cdylib (-Djna.library.path). The expected
# answers come from the Rust API through `aurora route --json`.
#
# Needs (scripts/setup.sh installs them): a JDK (17), JNA
# (/usr/share/java/jna.jar, Debian's libjna-java) and kotlinc (npm package
# kotlin-compiler, which also ships kotlinx-coroutines-core-jvm).
set -euo pipefail
cd "$(dirname "$0")/.."

kotlinc=$(command -v kotlinc || true)
if [ -z "$kotlinc" ] && command -v npm >/dev/null; then
  kotlinc="$(npm root -g)/kotlin-compiler/bin/kotlinc"
fi
if [ -z "$kotlinc" ] || [ ! -x "$kotlinc" ]; then
  echo "test-kotlin: kotlinc not found (npm install -g kotlin-compiler; see scripts/setup.sh)" >&2
  exit 1
fi
kotlin_lib=$(cd "$(dirname "$(readlink -f "$kotlinc")")/../lib" && pwd)
jna=${JNA_JAR:-/usr/share/java/jna.jar}
[ -f "$jna" ] || {
  echo "test-kotlin: $jna not found (apt-get install libjna-java)" >&2
  exit 1
}
classpath="$jna:$kotlin_lib/kotlinx-coroutines-core-jvm.jar"

# The cdylib and the `aurora` CLI. With --tests, features resolve exactly as
# in `cargo test --workspace`, so after the tests this rebuilds nothing.
cargo build --quiet --workspace --features cli,uniffi,schema,serve --bins --tests
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
# deps/ holds the library of the last build (the profile directory's copy is
# only refreshed when the library itself is a build root).
lib_dir="$target_dir/debug/deps"
[ -f "$lib_dir/libaurora_router.so" ] || lib_dir="$target_dir/debug"
aurora="$target_dir/debug/aurora"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

profile=profiles/mmlu_pro-minilm.json
npy=examples/mmlu_pro/embeddings_minilm.f16.npy
# Expected answers from the Rust API: every 75th query at four cost preferences
# (`route --json` prints one JSON array; one compact object per line here).
rows=()
for r in $(seq 0 75 1500); do rows+=(--row "$r"); done
for p in 0 0.3 0.5 1; do
  "$aurora" route --profile "$profile" --embeddings "$npy" \
    --embedding-model all-MiniLM-L6-v2 --cost-preference "$p" --json "${rows[@]}" |
    python3 -c 'import json, sys; [print(json.dumps(d, separators=(",", ":"))) for d in json.load(sys.stdin)]' |
    sed "s/^/$p\t/"
done >"$work/expected.tsv"

echo "test-kotlin: compiling with $("$kotlinc" -version 2>&1 | tail -n 1)"
"$kotlinc" -nowarn -cp "$classpath" -d "$work/test.jar" \
  bindings/kotlin/aurora/router/aurora_router.kt bindings/kotlin/tests/*.kt 2>&1 |
  grep -v '^OpenJDK 64-Bit Server VM warning' >&2 || true
[ -f "$work/test.jar" ] || {
  echo "test-kotlin: kotlinc failed" >&2
  exit 1
}

java -Djna.library.path="$lib_dir" \
  -cp "$work/test.jar:$classpath:$kotlin_lib/kotlin-stdlib.jar" \
  aurora.router.tests.RouterTestKt "$profile" "$npy" "$work/expected.tsv"
