"""History from SQL, from Python's sqlite3 module as an app uses it:
crlog_replay, crlog_attach_at, crlog_blame and crlog_cell_history.

Run by Debian's /usr/bin/python3 -m pytest (ctest test history.python).
Environment:
  CRLOG_EXTENSION  path of the built crsqlite.so
"""

import os
import sqlite3

import pytest

EXTENSION = os.environ.get("CRLOG_EXTENSION", "")


def connect(path):
    conn = sqlite3.connect(path)
    conn.enable_load_extension(True)
    conn.load_extension(EXTENSION[:-3] if EXTENSION.endswith(".so") else EXTENSION)
    conn.enable_load_extension(False)
    return conn


@pytest.fixture
def todo(tmp_path):
    """A todo list with a short history; returns (connection, [event ids])."""
    conn = connect(str(tmp_path / "app.db"))
    conn.execute("CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER DEFAULT 0)")
    conn.execute("SELECT crsql_as_crr('todo')")
    conn.commit()
    events = []
    for sql in (
        "INSERT INTO todo(id, title) VALUES (1, 'buy milk')",
        "UPDATE todo SET title = 'buy oat milk' WHERE id = 1",
        "UPDATE todo SET done = 1 WHERE id = 1",
    ):
        conn.execute(sql)
        conn.commit()
        (event,) = conn.execute("SELECT lower(hex(hash)) FROM crlog_watermark").fetchone()
        events.append(event)
    return conn, events


def test_attach_at_an_event_shows_the_table_as_it_was(todo):
    conn, events = todo
    (folded,) = conn.execute("SELECT crlog_attach_at(?, 'past')", (events[0][:12],)).fetchone()
    assert folded >= 2  # the schema change and the insert
    assert conn.execute("SELECT id, title, done FROM past.todo").fetchall() == [(1, "buy milk", 0)]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("UPDATE past.todo SET done = 1")
    conn.execute("DETACH past")


def test_replay_writes_a_file_python_can_open(todo, tmp_path):
    conn, events = todo
    out = str(tmp_path / "then.db")
    conn.execute("SELECT crlog_replay(?, ?)", (events[1], out))
    then = sqlite3.connect(out)
    assert then.execute("SELECT title, done FROM todo").fetchall() == [("buy oat milk", 0)]


def test_replay_of_nonsense_is_an_error_naming_it(todo, tmp_path):
    conn, _ = todo
    # InvalidArgument is SQLITE_MISMATCH, which Python raises as IntegrityError.
    with pytest.raises(sqlite3.DatabaseError, match="'last tuesday' is not a point"):
        conn.execute("SELECT crlog_replay('last tuesday', ?)", (str(tmp_path / "x.db"),))


def test_cell_history_and_blame(todo):
    conn, events = todo
    history = conn.execute(
        "SELECT value, event FROM crlog_cell_history('todo', 1, 'title') ORDER BY position"
    ).fetchall()
    assert history == [("buy milk", events[0]), ("buy oat milk", events[1])]
    (site,) = conn.execute("SELECT crsql_site_id()").fetchone()
    blame = conn.execute(
        "SELECT \"column\", value, event, site FROM crlog_blame('todo', 1) WHERE \"column\" != '-1'"
    ).fetchall()
    assert blame == [("title", "buy oat milk", events[1], site), ("done", 1, events[2], site)]
