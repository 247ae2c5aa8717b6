#!/usr/bin/env bash
# Installs what building and testing Aurora Router needs on a fresh Debian
# machine with rustup: Rust components and targets, the aarch64 cross
# toolchain and qemu (to run the tests as aarch64), libclang (bindgen check),
# valgrind (the C ABI test), shellcheck, a JDK, JNA and kotlinc (the Kotlin
# bindings test; kotlinc from npm's kotlin-compiler), Debian's chromium and
# npm's playwright-core (the browser check of `aurora report`,
# scripts/test-report.sh; into the git-ignored scripts/browser/node_modules).
# Idempotent: skips what is already there.
set -euo pipefail

rustup component add rustfmt clippy >/dev/null
rustup target add aarch64-unknown-linux-gnu aarch64-linux-android aarch64-apple-ios >/dev/null

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
[ -d /usr/aarch64-linux-gnu/include ] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
# Tests spawn the aarch64 `aurora` binary directly: binfmt runs it under qemu.
dpkg -s qemu-user-binfmt >/dev/null 2>&1 || need+=(qemu-user-binfmt)
# bindgen loads libclang itself (libclang.so*), not the C++ libclang-cpp
# that other packages pull in.
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || need+=(libclang-dev)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v valgrind >/dev/null || need+=(valgrind)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v javac >/dev/null || need+=(default-jdk-headless)
[ -f /usr/share/java/jna.jar ] || need+=(libjna-java)
command -v npm >/dev/null || need+=(npm)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# kotlinc (scripts/test-kotlin.sh): npm's kotlin-compiler, which also ships
# kotlinx-coroutines-core-jvm.
if ! command -v kotlinc >/dev/null && [ ! -x "$(npm root -g)/kotlin-compiler/bin/kotlinc" ]; then
  echo "setup: installing kotlin-compiler (npm)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO npm install -g --no-fund --no-audit kotlin-compiler@2.4.20 >/dev/null
fi
# playwright-core, pinned by scripts/browser/package-lock.json.
if [ ! -d "$(dirname "$0")/browser/node_modules/playwright-core" ]; then
  echo "setup: installing playwright-core (npm, scripts/browser)"
  (cd "$(dirname "$0")/browser" && npm ci --no-fund --no-audit --omit=dev >/dev/null)
fi
# The all-MiniLM-L6-v2 weights of the `bert` embedder (git-ignored models/).
"$(dirname "$0")/fetch-minilm.sh"
echo "setup: ok"
