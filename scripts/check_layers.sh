#!/usr/bin/env bash
# Fails when a file includes a header of a folder above its own: the layers
# of docs/architecture.md ("Parts"), bottom first,
#   util -> log -> schema -> merge -> engine -> extension,
# with include/crlog/ (spelled "crlog/...") open to all and including only
# itself, log/ using util/ but not util/sqlite/ (the log knows nothing of
# SQLite), and tools/ including only crlog/ and tools/ (the command-line
# program uses crlog as any program would, through crsqlite.so). tests/ and
# bench/ may include anything. System, abseil, nlohmann-json, CLI11 and
# SQLite headers are not the project's and are not checked.
# Run by ctest (layering.includes_point_down); also runnable by hand:
#   scripts/check_layers.sh [SOURCE_DIR]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# What each folder may include besides crlog/ and itself.
declare -A below=(
  [util]=""
  [log]="util"
  [schema]="util"
  [merge]="util schema"
  [engine]="util log schema merge"
  [extension]="util log schema merge engine"
  [tools]=""
  [include]=""
)
# The folders whose headers count as the project's.
project=" util log schema merge engine extension tools tests bench "

bad=0
for folder in "${!below[@]}"; do
  allowed=" crlog ${folder} ${below[$folder]} "
  [[ $folder == include ]] && allowed=" crlog "
  while IFS= read -r -d '' file; do
    while IFS= read -r line; do
      header=$(sed -E 's/^[^"<]*["<]([^">]+)[">].*/\1/' <<<"${line#*:}")
      [[ "$header" == */* ]] || continue
      top=${header%%/*}
      [[ "$project" == *" $top "* ]] || continue
      if [[ "$allowed" != *" $top "* ]]; then
        may="crlog/"
        for f in ${below[$folder]}; do may+=", $f/"; done
        echo "$file:${line%%:*}: includes \"$header\": $folder/ may include only $may and $folder/ headers (docs/architecture.md, \"Parts\")" >&2
        bad=1
      elif [[ $folder == log && "$header" == util/sqlite/* ]]; then
        echo "$file:${line%%:*}: includes \"$header\": log/ knows nothing of SQLite; util/sqlite/ is for the layers above it" >&2
        bad=1
      fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
  done < <(find "$folder" -type f \( -name '*.h' -o -name '*.cc' \) -print0)
done

if [[ $bad -ne 0 ]]; then
  exit 1
fi
echo "every include points down: util -> log -> schema -> merge -> engine -> extension; tools/ uses crlog/ only"
