#!/usr/bin/env bash
# The layering rule of ARCHITECTURE.md: a module of src/ never refers to a
# module of a higher layer (`crate::<module>` outside comments). Lowest
# first; modules on one line share a layer.
set -euo pipefail
cd "$(dirname "$0")/.."

layers=(
  "data"
  "embed"
  "cluster"
  "routing"
  "profile"
  "route routes taxonomy templates stream pool"
  "eval"
  "build label"
  "ffi mobile serve"
)

rank_of() {
  local i
  for i in "${!layers[@]}"; do
    for m in ${layers[$i]}; do
      if [ "$m" = "$1" ]; then
        echo "$i"
        return
      fi
    done
  done
  echo -1
}

status=0
for dir in src/*/; do
  module=$(basename "$dir")
  [ "$module" = bin ] && continue
  rank=$(rank_of "$module")
  if [ "$rank" -lt 0 ]; then
    echo "check-layers: src/$module is in no layer: add it to scripts/check-layers.sh and ARCHITECTURE.md" >&2
    status=1
    continue
  fi
  # Every `crate::<name>` outside comment lines.
  while IFS=: read -r file line used; do
    used_rank=$(rank_of "$used")
    if [ "$used_rank" -gt "$rank" ]; then
      echo "check-layers: $file:$line: \`$module\` (layer $rank) uses \`crate::$used\` (layer $used_rank)" >&2
      status=1
    fi
  done < <(grep -rnE 'crate::[a-z_]+' "$dir" --include='*.rs' |
    grep -vE '^[^:]+:[0-9]+:\s*//' |
    sed -nE 's/^([^:]+):([0-9]+):.*/\1:\2:&/p' |
    while IFS= read -r l; do
      loc=$(cut -d: -f1,2 <<<"$l")
      grep -oE 'crate::[a-z_]+' <<<"${l#*:*:}" | sed "s|^crate::|$loc:|"
    done)
done
if [ "$status" -eq 0 ]; then
  echo "check-layers: ok"
fi
exit "$status"
