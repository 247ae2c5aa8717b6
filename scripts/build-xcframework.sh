#!/usr/bin/env bash
# Builds build/AuroraRouterFFI.xcframework for Swift apps, on a Mac with
# Xcode and rustup:
#
#   ios-arm64            aarch64-apple-ios       (devices)
#   ios-arm64-simulator  aarch64-apple-ios-sim   (Apple-silicon simulators)
#   macos-arm64          aarch64-apple-darwin
#
# Each slice is a static framework, AuroraRouterFFI.framework, holding the
# Rust staticlib (profile `mobile`, features `uniffi` only: no CLI, no
# profile builder), the uniffi C header (bindings/swift/AuroraRouterFFI.h),
# the `framework module AuroraRouterFFI` modulemap
# (bindings/swift/module.modulemap) and, for C / Objective-C callers, the C
# ABI's include/aurora_router.h. Package.swift wraps the XCFramework as a
# binary target under the Swift sources in bindings/swift/ (`import
# AuroraRouter`).
#
# Cactus. Without CACTUS_LIB_DIR, cactus-sys emits no link line for Apple
# targets: the staticlib references the cactus_* symbols and the app links
# Cactus's own cactus.xcframework next to this one (in Xcode, add both to
# "Frameworks, Libraries, and Embedded Content"; with SwiftPM, add Cactus's
# XCFramework as a second binaryTarget and a dependency of AuroraRouter — see
# Package.swift). `--mock` instead builds the deterministic C mock into the
# library (simulator / CI smoke tests only: its embeddings are not a real
# model's).
#
#   bash scripts/build-xcframework.sh [--mock]
#
# Regenerate the bindings first when the API changed
# (bash scripts/gen-bindings.sh, on any host).
set -euo pipefail
cd "$(dirname "$0")/.."

features="uniffi"
case "${1:-}" in
  --mock) features="uniffi,mock" ;;
  "") ;;
  *)
    echo "usage: $0 [--mock]" >&2
    exit 2
    ;;
esac

if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null; then
  echo "build-xcframework: needs macOS with Xcode (xcodebuild)" >&2
  exit 1
fi

name=AuroraRouterFFI
out=build/xcframework
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"
targets=(aarch64-apple-ios aarch64-apple-ios-sim aarch64-apple-darwin)

rm -rf "$out" "build/$name.xcframework"
mkdir -p "$out"
rustup target add "${targets[@]}" >/dev/null

plist() { # plist PLATFORM MIN_OS
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>CFBundleDevelopmentRegion</key><string>en</string>
  <key>CFBundleExecutable</key><string>$name</string>
  <key>CFBundleIdentifier</key><string>dev.aurora.router.ffi</string>
  <key>CFBundleInfoDictionaryVersion</key><string>6.0</string>
  <key>CFBundleName</key><string>$name</string>
  <key>CFBundlePackageType</key><string>FMWK</string>
  <key>CFBundleShortVersionString</key><string>$version</string>
  <key>CFBundleVersion</key><string>$version</string>
  <key>CFBundleSupportedPlatforms</key><array><string>$1</string></array>
  <key>MinimumOSVersion</key><string>$2</string>
</dict>
</plist>
EOF
}

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
frameworks=()
for t in "${targets[@]}"; do
  echo "==> $t"
  cargo rustc -p aurora-router --lib --profile mobile --target "$t" \
    --no-default-features --features "$features" --crate-type staticlib
  lib="target/$t/mobile/libaurora_router.a"
  fw="$out/$t/$name.framework"
  case "$t" in
    aarch64-apple-darwin)
      # macOS bundles are versioned: Versions/A plus symlinks.
      mkdir -p "$fw/Versions/A/Headers" "$fw/Versions/A/Modules" "$fw/Versions/A/Resources"
      cp "$lib" "$fw/Versions/A/$name"
      cp bindings/swift/AuroraRouterFFI.h include/aurora_router.h "$fw/Versions/A/Headers/"
      cp bindings/swift/module.modulemap "$fw/Versions/A/Modules/"
      plist MacOSX "$MACOSX_DEPLOYMENT_TARGET" >"$fw/Versions/A/Resources/Info.plist"
      ln -s A "$fw/Versions/Current"
      for f in "$name" Headers Modules Resources; do ln -s "Versions/Current/$f" "$fw/$f"; done
      ;;
    *)
      mkdir -p "$fw/Headers" "$fw/Modules"
      cp "$lib" "$fw/$name"
      cp bindings/swift/AuroraRouterFFI.h include/aurora_router.h "$fw/Headers/"
      cp bindings/swift/module.modulemap "$fw/Modules/"
      if [ "$t" = aarch64-apple-ios-sim ]; then
        plist iPhoneSimulator "$IPHONEOS_DEPLOYMENT_TARGET" >"$fw/Info.plist"
      else
        plist iPhoneOS "$IPHONEOS_DEPLOYMENT_TARGET" >"$fw/Info.plist"
      fi
      ;;
  esac
  frameworks+=(-framework "$fw")
done

xcodebuild -create-xcframework "${frameworks[@]}" -output "build/$name.xcframework"
echo "wrote build/$name.xcframework (Swift sources: bindings/swift/AuroraRouter.swift; see Package.swift)"
