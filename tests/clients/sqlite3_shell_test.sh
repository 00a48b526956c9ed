#!/usr/bin/env bash
# crsqlite.so driven from the sqlite3 command-line shell: SQL piped in with
# `.load PATH`, output compared line by line with what is expected.
#   sqlite3_shell_test.sh EXTENSION CRLOG TMPDIR
# EXTENSION is the built crsqlite.so, CRLOG the built crlog program; a fresh
# directory is made under TMPDIR and removed afterwards.
set -euo pipefail

extension=${1:?usage: sqlite3_shell_test.sh EXTENSION CRLOG TMPDIR}
crlog=${2:?usage: sqlite3_shell_test.sh EXTENSION CRLOG TMPDIR}
mkdir -p "${3:?usage: sqlite3_shell_test.sh EXTENSION CRLOG TMPDIR}"
work=$(mktemp -d "$3/shell.XXXXXX")
trap 'rm -rf "$work"' EXIT
db=$work/app.db
no_suffix=${extension%.so}

passed=0
failed=0

# check NAME EXPECTED ACTUAL: diff the two texts.
check() {
  if diff -u --label "$1 (expected)" --label "$1 (actual)" <(printf '%s\n' "$2") <(printf '%s\n' "$3"); then
    passed=$((passed + 1))
    echo "ok: $1"
  else
    failed=$((failed + 1))
    echo "FAILED: $1"
  fi
}

# 1. trusted_schema=OFF before loading; replicate, write, roll back, read.
actual=$(sqlite3 -batch "$db" 2>&1 <<SQL
PRAGMA trusted_schema = OFF;
.load $extension sqlite3_crsqlite_init
PRAGMA trusted_schema;
SELECT crsql_db_version();
CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER DEFAULT 0);
SELECT crsql_as_crr('todo');
INSERT INTO todo(id, title) VALUES (1, 'buy milk'), (2, 'walk dog');
UPDATE todo SET done = 1 WHERE id = 1;
BEGIN;
INSERT INTO todo(id, title) VALUES (3, 'never');
DELETE FROM todo WHERE id = 2;
ROLLBACK;
DELETE FROM todo WHERE id = 2;
SELECT '--';
SELECT "table", hex(pk), cid, quote(val), col_version, cl FROM crsql_changes ORDER BY db_version, seq;
SELECT '--';
SELECT kind, seq, ops FROM crlog_events;
SELECT '--';
SELECT id, title, done FROM todo;
SELECT length(crsql_site_id()), typeof(crsql_sha());
SQL
)
expected="0
0
OK
--
todo|010901|title|'buy milk'|1|1
todo|010901|done|1|2|1
todo|010902|-1|NULL|2|2
--
schema|1|0
change|2|4
change|3|1
change|4|1
--
1|buy milk|1
16|text"
check "trusted_schema=OFF: replicate, write, roll back, read" "$expected" "$actual"

# 2. Reopened, loaded without naming the entry point (SQLite derives it from
# the file name) and without the suffix: same site, the chain goes on.
site1=$(sqlite3 -batch "$db" ".load $extension" "SELECT hex(crsql_site_id());")
actual=$(sqlite3 -batch "$db" 2>&1 <<SQL
.load $no_suffix
SELECT hex(crsql_site_id()) = '$site1';
INSERT INTO todo(id, title) VALUES (4, 'after reopening');
SELECT max(seq), count(*) FROM crlog_events;
SELECT crsql_db_version() = (SELECT max(db_version) FROM crsql_changes);
SQL
)
expected="1
5|5
1"
check "reopened: same site, seq continues" "$expected" "$actual"

# 3. The shell without crlog loaded cannot write the replicated table, and
# the table is unchanged; it can still read.
set +e
err=$(sqlite3 -batch "$db" "INSERT INTO todo(id, title) VALUES (9, 'unnoticed');" 2>&1)
status=$?
set -e
if [[ $status -ne 0 && $err == *crsql_* || $status -ne 0 && $err == *crlog_capture* ]]; then
  passed=$((passed + 1))
  echo "ok: a shell without crlog cannot write a replicated table"
else
  failed=$((failed + 1))
  echo "FAILED: a shell without crlog wrote a replicated table (exit $status): $err"
fi
check "a shell without crlog reads the unchanged table" "1|buy milk
4|after reopening" "$(sqlite3 -batch "$db" "SELECT id, title FROM todo ORDER BY id;")"

# 4. Savepoints and a failing statement in the shell, then the log as
# `crlog log --json` and `crlog verify` see it.
actual=$(sqlite3 -batch "$db" 2>&1 <<SQL
.load $extension
BEGIN;
SAVEPOINT a;
INSERT INTO todo(id, title) VALUES (10, 'dropped by rollback to');
ROLLBACK TO a;
INSERT INTO todo(id, title) VALUES (11, 'kept');
INSERT INTO todo(id, title) VALUES (12, 'x'), (11, 'duplicate');
COMMIT;
SELECT '--';
SELECT hex(pk), cid, quote(val) FROM crsql_changes WHERE db_version = crsql_db_version() ORDER BY seq;
SELECT id FROM todo ORDER BY id;
SQL
) || true  # the shell exits non-zero after the failing INSERT
expected="Runtime error near line 7: UNIQUE constraint failed: todo.id (19)
--
010908|title|'kept'
010908|done|0
1
4
11"
# The pk of id 11 packs as 0109 0B.
expected=${expected//010908/01090B}
check "savepoints and a failing statement" "$expected" "$actual"

json=$("$crlog" log --json "$db")
check "crlog log --json lists the events newest first" "6 5 4 3 2 1" \
  "$(printf '%s' "$json" | grep -o '"seq":[0-9]*' | cut -d: -f2 | paste -sd' ')"
check "crlog verify accepts the log" "0" "$("$crlog" verify "$db" >/dev/null 2>&1; echo $?)"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
