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

db=$(dirname "$demo")/todo.db
echo
echo "== SQLite with the crlog extension: $db"
sqlite3 "$db" <<SQL
.load build/release/extension/crsqlite
CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER DEFAULT 0);
SELECT crsql_as_crr('todo');
INSERT INTO todo VALUES (1, 'buy milk', 0), (2, 'call mum', 0);
UPDATE todo SET done = 1 WHERE id = 1;
BEGIN; DELETE FROM todo; ROLLBACK;
.mode box
SELECT "table", hex(pk) AS pk, cid, val, col_version, db_version FROM crsql_changes;
SELECT substr(event, 1, 12) AS event, cid, val FROM crlog_ops
 WHERE "table" = 'todo' AND pk = crsql_pack_columns(1);
SQL
echo
echo "== crlog log --oneline $db"
"$crlog" log --oneline "$db"
echo
echo "== crlog verify $db"
"$crlog" verify "$db"
