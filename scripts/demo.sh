#!/usr/bin/env bash
# Sets up, builds, and runs the demo: a log written by two sites, printed
# newest first, then verified.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh release

crlog=build/release/tools/crlog
demo=$(mktemp -d)/demo-crlog
trap 'rm -rf "$(dirname "$demo")"' EXIT

echo
echo "== crlog demo $demo"
"$crlog" demo "$demo"
echo
echo "== crlog log $demo"
"$crlog" log "$demo"
echo
echo "== crlog verify $demo"
"$crlog" verify "$demo"
