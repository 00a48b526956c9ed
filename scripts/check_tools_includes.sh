#!/usr/bin/env bash
# Fails when a file in tools/ includes a header of this project outside the
# public API (include/crlog/, spelled "crlog/...") and tools/ itself: the
# command-line tools use crlog only as any program would, through
# crsqlite.so. System, abseil, nlohmann-json and <sqlite3.h> headers are
# fine. Run by ctest (tools.public_api_only); also runnable by hand:
#   scripts/check_tools_includes.sh [SOURCE_DIR]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# The project's own header roots: anything included as "<root>/..." with a
# top-level directory of the source tree is a project header.
mapfile -t roots < <(find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name build -printf '%f\n')

bad=0
while IFS= read -r -d '' file; do
  while IFS= read -r line; do
    header=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1/' <<<"${line#*:}")
    top=${header%%/*}
    [[ "$header" == */* ]] || continue
    case "$top" in
      crlog | tools) continue ;;
    esac
    for r in "${roots[@]}"; do
      if [[ "$top" == "$r" ]]; then
        echo "$file:${line%%:*}: includes \"$header\": tools/ may include only crlog/ (include/crlog/) and tools/ headers of this project; use the public API" >&2
        bad=1
      fi
    done
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$file" || true)
done < <(find tools -type f \( -name '*.h' -o -name '*.cc' -o -name '*.hpp' -o -name '*.cpp' \) -print0)

if [[ $bad -ne 0 ]]; then
  exit 1
fi
echo "tools/ includes only public (crlog/) and tools/ headers of this project"
