#!/usr/bin/env bash
# Sets up, builds, and runs the demo: a log written by two sites, printed
# newest first, then verified; SQLite writes captured by the extension; and
# two replicas merging through crsql_changes, conflict included; then the
# history: blame, old -> new, replay at a point, diff and the event graph.
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

phone=$(dirname "$demo")/phone.db
echo
echo "== merging: $phone takes $db's changes through crsql_changes (cr-sqlite's sync loop)"
sqlite3 "$phone" <<SQL
.load build/release/extension/crsqlite
CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER DEFAULT 0);
SELECT crsql_as_crr('todo');
INSERT INTO todo VALUES (1, 'buy oat milk', 0), (3, 'water plants', 0);
SQL
/usr/bin/python3 - "$db" "$phone" <<'PY'
import sqlite3, sys
def replica(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension("build/release/extension/crsqlite")
    return db
laptop, phone = replica(sys.argv[1]), replica(sys.argv[2])
def sync(src, dst):
    site = dst.execute("SELECT crsql_site_id()").fetchone()[0]
    rows = src.execute('SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq '
                       'FROM crsql_changes WHERE db_version > 0 AND site_id IS NOT ?', (site,)).fetchall()
    dst.execute("BEGIN")
    dst.executemany("INSERT INTO crsql_changes VALUES (?,?,?,?,?,?,?,?,?)", rows)
    n = dst.execute("SELECT crsql_rows_impacted()").fetchone()[0]
    dst.execute("COMMIT")
    return len(rows), n
print("laptop -> phone: %d changes sent, %d applied" % sync(laptop, phone))
print("phone -> laptop: %d changes sent, %d applied" % sync(phone, laptop))
for name, db in (("laptop", laptop), ("phone", phone)):
    print(name, db.execute("SELECT * FROM todo ORDER BY id").fetchall())
print("conflicts seen by the phone:",
      phone.execute("SELECT tbl, cid, winner_value, loser_value FROM crlog_conflicts").fetchall())
PY
echo
echo "== crlog log --oneline $phone   (the merged changes are one import event)"
"$crlog" log --oneline "$phone"
echo
echo "== crlog verify $phone"
"$crlog" verify "$phone"

echo
echo "== history: who wrote each cell of row 1 on the phone, and what it held before"
"$crlog" blame --history "$phone" todo 1
echo
echo "== crlog log --oneline --ops $db   (each op as old -> new)"
"$crlog" log --oneline --ops "$db"
site=$(sqlite3 "$db" "SELECT lower(hex(site)) FROM crlog_site")
echo
echo "== crlog replay $db --at ${site:0:8}:2   (the laptop's tables after its 2nd event)"
"$crlog" replay "$db" --at "${site:0:8}:2" --out "$(dirname "$demo")/then.db"
sqlite3 "$(dirname "$demo")/then.db" "SELECT * FROM todo ORDER BY id"
echo
echo "== crlog diff $db ${site:0:8}:2 head"
"$crlog" diff "$db" "${site:0:8}:2" head
echo
echo "== crlog graph $phone   (Graphviz DOT; --out FILE.svg draws it)"
"$crlog" graph "$phone" --out "$(dirname "$demo")/phone.dot"
head -n 12 "$(dirname "$demo")/phone.dot"
echo "   ..."
