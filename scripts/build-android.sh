#!/usr/bin/env bash
# Builds the Android library of Aurora Router into build/android/:
#
#   jniLibs/arm64-v8a/libaurora_router.so   the cdylib (profile `mobile`,
#                                           features `uniffi` only), with
#                                           libcactus.so beside it
#   kotlin/aurora/router/aurora_router.kt   the Kotlin bindings, Android
#                                           flavour (bindings/uniffi-android.toml)
#   proguard-rules.pro                      keep rules for JNA and the bindings
#
# Needs the Android NDK (ANDROID_NDK_HOME) and cargo-ndk
# (`cargo install cargo-ndk`); rustup adds the target.
#
# Cactus. Set CACTUS_LIB_DIR to the directory holding Cactus's arm64-v8a
# libcactus.so: cactus-sys then links it (DT_NEEDED), and this script copies
# it into jniLibs/arm64-v8a so the Android loader finds it next to
# libaurora_router.so. Without CACTUS_LIB_DIR the script builds the
# deterministic C mock into the library instead (a warning says so): fine for
# a smoke test, not for an app.
#
# In the app module's build.gradle.kts:
#
#   android { sourceSets["main"].jniLibs.srcDirs("<this repo>/build/android/jniLibs")
#             sourceSets["main"].kotlin.srcDirs("<this repo>/build/android/kotlin") }
#   dependencies { implementation("net.java.dev.jna:jna:5.14.0@aar") }   // JNA's Android AAR
#
# and add build/android/proguard-rules.pro to the release build's
# proguardFiles (R8 must not rename JNA or the generated classes: JNA finds
# the native functions by reflection).
#
#   bash scripts/build-android.sh [--api LEVEL]     (default API level 24)
set -euo pipefail
cd "$(dirname "$0")/.."

api=24
case "${1:-}" in
  --api)
    api=${2:?--api needs a level}
    ;;
  "") ;;
  *)
    echo "usage: $0 [--api LEVEL]" >&2
    exit 2
    ;;
esac

if ! command -v cargo-ndk >/dev/null; then
  echo "build-android: needs cargo-ndk (cargo install cargo-ndk) and the NDK (ANDROID_NDK_HOME)" >&2
  exit 1
fi

target=aarch64-linux-android
abi=arm64-v8a
out=build/android
features="uniffi"
if [ -z "${CACTUS_LIB_DIR:-}" ]; then
  echo "build-android: warning: CACTUS_LIB_DIR is not set; building the mock Cactus into the library" >&2
  features="uniffi,mock"
fi

rustup target add "$target" >/dev/null
rm -rf "$out"
mkdir -p "$out/jniLibs/$abi" "$out/kotlin"

# cargo-ndk sets the NDK's clang, sysroot and API level for the target.
cargo ndk -t "$abi" -P "$api" build -p aurora-router --lib --profile mobile \
  --no-default-features --features "$features"
cp "target/$target/mobile/libaurora_router.so" "$out/jniLibs/$abi/"
if [ -n "${CACTUS_LIB_DIR:-}" ]; then
  cp "$CACTUS_LIB_DIR"/libcactus*.so "$out/jniLibs/$abi/"
fi
# libc++_shared.so, when Cactus needs it, comes from the NDK.
if [ -n "${CACTUS_LIB_DIR:-}" ] && [ -n "${ANDROID_NDK_HOME:-}" ]; then
  cxx=$(find "$ANDROID_NDK_HOME" -path "*/aarch64-linux-android/libc++_shared.so" | head -n 1)
  [ -n "$cxx" ] && cp "$cxx" "$out/jniLibs/$abi/"
fi

# The Kotlin bindings, Android flavour, from the unstripped host build (the
# API metadata is the same on every target).
cargo build --quiet --workspace --features cli,uniffi,schema,serve --bins --tests
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
so=libaurora_router.so
[ "$(uname -s)" = Darwin ] && so=libaurora_router.dylib
host_lib="$target_dir/debug/deps/$so"
[ -f "$host_lib" ] || host_lib="$target_dir/debug/$so"
"$target_dir/debug/uniffi-bindgen" generate --no-format --metadata-no-deps \
  --config bindings/uniffi-android.toml --language kotlin --out-dir "$out/kotlin" "$host_lib"

cat >"$out/proguard-rules.pro" <<'EOF'
# JNA (net.java.dev.jna:jna AAR): native methods and structures are bound by
# reflection.
-dontwarn java.awt.*
-keep class com.sun.jna.** { *; }
-keepclassmembers class * extends com.sun.jna.** { public *; }
# The uniffi-generated bindings (FFI structures, callback interfaces).
-keep class aurora.router.** { *; }
EOF

echo "wrote $out (jniLibs/$abi, kotlin/, proguard-rules.pro)"
