"""crsqlite.so driven from Python's sqlite3 module, as a Python app uses it.

Run by Debian's /usr/bin/python3 -m pytest (ctest test clients.python).
Environment:
  CRLOG_EXTENSION  path of the built crsqlite.so
  CRLOG_BINARY     path of the built crlog program
"""

import json
import os
import sqlite3
import subprocess

import pytest

EXTENSION = os.environ.get("CRLOG_EXTENSION", "")
CRLOG = os.environ.get("CRLOG_BINARY", "")


def without_suffix(path):
    return path[:-3] if path.endswith(".so") else path


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "app.db")


def connect(path, load_path=None):
    """A connection with crlog loaded. Python cannot name an entry point:
    SQLite derives sqlite3_crsqlite_init from the file name."""
    conn = sqlite3.connect(path)
    conn.enable_load_extension(True)
    conn.load_extension(load_path or without_suffix(EXTENSION))
    conn.enable_load_extension(False)
    return conn


def make_todo(conn):
    conn.execute("CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER DEFAULT 0)")
    assert conn.execute("SELECT crsql_as_crr('todo')").fetchone() == ("OK",)
    conn.commit()


def changes(conn, where=""):
    return conn.execute(
        'SELECT "table", hex(pk), cid, val, col_version, cl FROM crsql_changes '
        + where
        + " ORDER BY db_version, seq"
    ).fetchall()


def run_crlog(*args):
    return subprocess.run([CRLOG, *args], capture_output=True, text=True, timeout=120)


def test_environment_names_the_built_files():
    assert os.path.isfile(EXTENSION), "CRLOG_EXTENSION must name the built crsqlite.so"
    assert os.access(CRLOG, os.X_OK), "CRLOG_BINARY must name the built crlog program"


def test_loads_by_path_without_the_suffix(db_path):
    conn = connect(db_path, without_suffix(EXTENSION))
    (site,) = conn.execute("SELECT crsql_site_id()").fetchone()
    assert isinstance(site, bytes) and len(site) == 16


def test_loads_by_path_with_the_suffix(db_path):
    conn = connect(db_path, EXTENSION)
    assert conn.execute("SELECT crsql_db_version()").fetchone() == (0,)


def test_committed_writes_show_in_crsql_changes(db_path):
    conn = connect(db_path)
    make_todo(conn)
    conn.execute("INSERT INTO todo(id, title) VALUES (1, 'buy milk')")
    conn.commit()
    assert changes(conn) == [
        ("todo", "010901", "title", "buy milk", 1, 1),
        ("todo", "010901", "done", 0, 1, 1),
    ]


def test_rollback_leaves_no_change_and_no_event(db_path):
    conn = connect(db_path)
    make_todo(conn)
    conn.execute("INSERT INTO todo(id, title) VALUES (1, 'kept')")
    conn.commit()
    events = conn.execute("SELECT count(*) FROM crlog_events").fetchone()[0]
    version = conn.execute("SELECT crsql_db_version()").fetchone()[0]
    # Python opens a transaction implicitly before an INSERT.
    conn.execute("INSERT INTO todo(id, title) VALUES (2, 'rolled back')")
    conn.execute("UPDATE todo SET done = 1 WHERE id = 1")
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM crlog_events").fetchone()[0] == events
    assert conn.execute("SELECT crsql_db_version()").fetchone()[0] == version
    assert [r[1:3] for r in changes(conn)] == [("010901", "title"), ("010901", "done")]
    assert conn.execute("SELECT id, title, done FROM todo").fetchall() == [(1, "kept", 0)]


def test_a_with_block_is_one_event(db_path):
    conn = connect(db_path)
    make_todo(conn)
    before = conn.execute("SELECT count(*) FROM crlog_events").fetchone()[0]
    with conn:
        conn.executemany("INSERT INTO todo(id, title) VALUES (?, ?)", [(i, f"item {i}") for i in range(10)])
        conn.execute("DELETE FROM todo WHERE id = 3")
    assert conn.execute("SELECT count(*) FROM crlog_events").fetchone()[0] == before + 1
    assert conn.execute("SELECT count(DISTINCT db_version) FROM crsql_changes").fetchone() == (1,)
    assert changes(conn, "WHERE cid = '-1'") == [("todo", "010903", "-1", None, 2, 2)]


def test_a_failed_with_block_is_rolled_back_and_not_logged(db_path):
    conn = connect(db_path)
    make_todo(conn)
    before = conn.execute("SELECT count(*) FROM crlog_events").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError):
        with conn:
            conn.execute("INSERT INTO todo(id, title) VALUES (1, 'a')")
            conn.execute("INSERT INTO todo(id, title) VALUES (1, 'duplicate')")
    assert conn.execute("SELECT count(*) FROM todo").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM crlog_events").fetchone()[0] == before
    assert changes(conn) == []


def test_values_of_each_type_round_trip_through_crsql_changes(db_path):
    conn = connect(db_path)
    conn.execute("CREATE TABLE v(id TEXT PRIMARY KEY NOT NULL, x)")
    conn.execute("SELECT crsql_as_crr('v')")
    rows = [("int", 42), ("real", 1.5), ("text", "héllo"), ("blob", b"\x00\xff"), ("null", None)]
    with conn:
        conn.executemany("INSERT INTO v VALUES (?, ?)", rows)
    got = conn.execute("SELECT pk, val FROM crsql_changes ORDER BY seq").fetchall()
    packed = {k: conn.execute("SELECT crsql_pack_columns(?)", (k,)).fetchone()[0] for k, _ in rows}
    assert got == [(packed[k], x) for k, x in rows]


def test_local_changes_are_selected_by_site_and_version(db_path):
    conn = connect(db_path)
    make_todo(conn)
    with conn:
        conn.execute("INSERT INTO todo(id, title) VALUES (1, 'one')")
    (mark,) = conn.execute("SELECT crsql_db_version()").fetchone()
    with conn:
        conn.execute("INSERT INTO todo(id, title) VALUES (2, 'two')")
    (site,) = conn.execute("SELECT crsql_site_id()").fetchone()
    later = conn.execute("SELECT hex(pk), cid FROM crsql_changes WHERE db_version > ?", (mark,)).fetchall()
    assert later == [("010902", "title"), ("010902", "done")]
    assert conn.execute("SELECT count(*) FROM crsql_changes WHERE site_id = ?", (site,)).fetchone() == (4,)
    assert conn.execute("SELECT count(*) FROM crsql_changes WHERE site_id IS NULL").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM crsql_changes WHERE site_id IS NOT ?", (site,)).fetchone() == (0,)


def test_crlog_events_and_ops_tell_the_history(db_path):
    conn = connect(db_path)
    make_todo(conn)
    with conn:
        conn.execute("INSERT INTO todo(id, title) VALUES (1, 'draft')")
    with conn:
        conn.execute("UPDATE todo SET title = 'final' WHERE id = 1")
    kinds = conn.execute("SELECT kind, seq FROM crlog_events").fetchall()
    assert kinds == [("schema", 1), ("change", 2), ("change", 3)]
    history = conn.execute(
        "SELECT seq, cid, val, col_version FROM crlog_ops "
        "WHERE \"table\" = 'todo' AND pk = crsql_pack_columns(1) AND cid = 'title'"
    ).fetchall()
    assert history == [(2, "title", "draft", 1), (3, "title", "final", 2)]


def test_crlog_log_json_shows_the_events(db_path):
    conn = connect(db_path)
    make_todo(conn)
    with conn:
        conn.execute("INSERT INTO todo(id, title) VALUES (1, 'a')")
    conn.execute("INSERT INTO todo(id, title) VALUES (2, 'rolled back')")
    conn.rollback()
    with conn:
        conn.execute("DELETE FROM todo WHERE id = 1")
    expected = conn.execute("SELECT hash, kind, seq, ops FROM crlog_events ORDER BY position DESC").fetchall()
    (site,) = conn.execute("SELECT hex(crsql_site_id())").fetchone()
    result = run_crlog("log", "--json", db_path)
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)
    assert [(e["hash"], e["kind"], e["seq"], e["ops"]) for e in events] == expected
    assert {e["site"] for e in events} == {site.lower()}
    assert [e["seq"] for e in events] == [3, 2, 1]


def test_crlog_verify_accepts_the_log(db_path):
    conn = connect(db_path)
    make_todo(conn)
    for i in range(5):
        with conn:
            conn.execute("INSERT INTO todo(id, title) VALUES (?, ?)", (i, f"t{i}"))
    conn.close()
    result = run_crlog("verify", db_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("verified: 6 events")


def test_a_connection_without_the_extension_cannot_write(db_path):
    conn = connect(db_path)
    make_todo(conn)
    with conn:
        conn.execute("INSERT INTO todo(id, title) VALUES (1, 'a')")
    plain = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.OperationalError):
        with plain:
            plain.execute("INSERT INTO todo(id, title) VALUES (2, 'unnoticed')")
    with pytest.raises(sqlite3.OperationalError):
        with plain:
            plain.execute("UPDATE todo SET title = 'unnoticed'")
    assert plain.execute("SELECT id, title FROM todo").fetchall() == [(1, "a")]
