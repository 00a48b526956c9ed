"""What programs and sync servers use of cr-sqlite 0.16 besides crsql_changes:
crsql_master, crsql_tracked_peers, crsql_config_set's persistence and
crsql_automigrate, on crlog, with the real cr-sqlite 0.16 as the reference
where it can be one.

  1. Layout: both tables exist after loading, with cr-sqlite's exact
     sqlite_master entries and its 'crsqlite_version' row (150000).
  2. vlcn's ws-server: 'schema_name' in crsql_master (INSERT OR REPLACE),
     crsql_tracked_peers upserted ON CONFLICT([site_id],[tag],[event]), STRICT
     refusing a TEXT version; neither table is replicated. Run on both kinds.
  3. crsql_config_set keeps 'config.<name>' in crsql_master as cr-sqlite
     0.16.3 does, and a new connection starts with it and merges by it (the
     wasm 0.16.0 has no crsql_config_set: crlog only).
  4. A database crlog initialised before these tables existed gets them at
     the next load that can write; a read-only load still works without them.
  5. crsql_automigrate(schema), cr-sqlite's algorithm: a v1 -> v2 migration
     (drop a column, add one with a DEFAULT, drop a plain table, add a
     replicated one, change an index), its crsql_changes, its writes, and a
     real cr-sqlite peer created at v2 syncing both ways; the failures (a new
     primary-key column, a schema that does not parse, one that does not
     re-apply) change nothing; a second run is a no-op. (The wasm's
     crsql_automigrate traps, "unreachable": it is not called.)

Run by ctest (peer.host_surface) as
  CRLOG_EXTENSION=<build>/extension/crsqlite.so /usr/bin/python3 -m pytest \
      tests/peer/test_host_surface.py
Needs tests/peer/node_modules (scripts/setup.sh installs it).
"""

import os
import sqlite3
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import extension  # noqa: E402  (make_peer: conftest.py)
from peer import CrlogPeer, CrsqlitePeer, PeerError, sync  # noqa: E402

PEER_KINDS = ["crlog", "crsqlite"]
META_TABLES = ("crsql_master", "crsql_tracked_peers")


def load_crlog(conn):
    conn.enable_load_extension(True)
    conn.load_extension(extension())
    conn.enable_load_extension(False)


# ---------------------------------------------------------------- helpers


def meta_schema(p):
    """sqlite_master's entries for cr-sqlite's two tables (their autoindexes
    included)."""
    return sorted(p.query(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE tbl_name IN ('crsql_master', 'crsql_tracked_peers')"))


def all_changes(p):
    return sorted(p.query(
        'SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq '
        "FROM crsql_changes"), key=repr)


def user_schema(p):
    """sqlite_master without crlog's and cr-sqlite's own entries."""
    return sorted(p.query(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'crlog%' AND name NOT LIKE 'crsql%' "
        "AND name NOT LIKE 'sqlite_autoindex_crlog%' "
        "AND name NOT LIKE 'sqlite_autoindex_crsql%'"), key=repr)


def whole_schema(p):
    return sorted(p.query("SELECT type, name, tbl_name, sql FROM sqlite_master"), key=repr)


def tables(p):
    return [r[0] for r in p.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'crlog%' AND name NOT LIKE 'crsql%' "
        "AND name NOT LIKE 'sqlite%' AND name NOT LIKE '%\\_\\_crsql\\_%' ESCAPE '\\' "
        "ORDER BY name")]


def table_info(p, table):
    """(name, type, notnull, dflt_value, pk) per column, in order."""
    return p.query('SELECT name, type, "notnull", dflt_value, pk '
                   "FROM pragma_table_info(?) ORDER BY cid", (table,))


def index_shape(p, table):
    """{index name: (unique, [columns])} for the table's non-pk indexes."""
    out = {}
    for name, unique in p.query('SELECT name, "unique" FROM pragma_index_list(?) '
                                "WHERE origin != 'pk'", (table,)):
        cols = [r[0] for r in p.query(
            "SELECT name FROM pragma_index_info(?) ORDER BY seqno", (name,))]
        out[name] = (unique, cols)
    return out


def typed_rows(p, table):
    cols = [r[0] for r in table_info(p, table)]
    sel = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
    return p.query(f'SELECT {sel} FROM "{table}" ORDER BY 1')


def changes_of(p, table):
    return sorted(p.query('SELECT pk, cid, val, col_version, db_version, site_id, cl '
                          'FROM crsql_changes WHERE "table" = ?', (table,)), key=repr)


def pk(p, *values):
    return p.scalar("SELECT crsql_pack_columns(" + ", ".join("?" * len(values)) + ")",
                    values)


def raises(p, sql, params=()):
    """Runs sql, which must fail; returns the error message."""
    with pytest.raises(PeerError) as e:
        p.exec(sql, params)
    return str(e.value)


# ---------------------------------------------------------------- 1. layout

def test_meta_tables_have_crsqlite_layout(make_peer):
    """sqlite_master's entries for both tables (and their autoindexes) are
    exactly the real cr-sqlite 0.16's."""
    crlog = make_peer("crlog", "crlog")
    real = make_peer("crsqlite", "real")
    want = meta_schema(real)
    assert {r[1] for r in want} >= set(META_TABLES), f"the reference lacks them: {want}"
    assert meta_schema(crlog) == want
    # The brief's own query, side by side.
    q = ("SELECT name, sql FROM sqlite_master "
         "WHERE name IN ('crsql_master','crsql_tracked_peers') ORDER BY name")
    assert crlog.query(q) == real.query(q)


def test_crsqlite_version_row_matches_crsqlite(make_peer):
    q = ("SELECT key, value, typeof(value) FROM crsql_master "
         "WHERE key = 'crsqlite_version'")
    crlog = make_peer("crlog", "crlog")
    real = make_peer("crsqlite", "real")
    assert real.query(q) == [("crsqlite_version", 150000, "integer")]
    assert crlog.query(q) == real.query(q)
    # And it is the only row a fresh database has, in both.
    assert crlog.query("SELECT key FROM crsql_master") == real.query("SELECT key FROM crsql_master")


# ---------------------------------------------------------------- 2. vlcn's ws-server

TRACK_SQL = ("INSERT INTO crsql_tracked_peers (site_id, version, seq, tag, event) "
             "VALUES (?, ?, 0, 0, 0) "
             "ON CONFLICT([site_id],[tag],[event]) DO UPDATE SET version=excluded.version")
PEER_SITE = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_ws_server_keeps_schema_name_in_crsql_master(make_peer, kind):
    p = make_peer(kind, "p")
    p.exec("INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_name', 'x')")
    assert p.query("SELECT value FROM crsql_master WHERE key='schema_name'") == [("x",)]
    p.exec("INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_name', 'y')")
    assert p.query("SELECT value FROM crsql_master WHERE key='schema_name'") == [("y",)]


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_ws_server_upserts_tracked_peer_into_one_row(make_peer, kind):
    p = make_peer(kind, "p")
    p.exec(TRACK_SQL, (PEER_SITE, 5))
    p.exec(TRACK_SQL, (PEER_SITE, 9))
    assert p.query("SELECT site_id, version, seq, tag, event FROM crsql_tracked_peers") == [
        (PEER_SITE, 9, 0, 0, 0)]


# @vlcn.io/ws-server 0.2.3's setLastSeen (dist/DB.js), as it is written.
WS_SET_LAST_SEEN = """INSERT INTO crsql_tracked_peers (site_id, tag, event, version, seq) VALUES (?, 0, 0, ?, ?)
        ON CONFLICT DO UPDATE SET
          "version" = MAX("version", excluded."version"),
          "seq" = CASE "version" > excluded."version" WHEN 1 THEN "seq" ELSE excluded."seq" END"""
WS_GET_LAST_SEEN = ("SELECT version, seq FROM crsql_tracked_peers "
                    "WHERE site_id = ? AND tag = 0 AND event = 0")


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_ws_server_last_seen_upsert_keeps_the_newest_version(make_peer, kind):
    p = make_peer(kind, "p")
    p.exec(WS_SET_LAST_SEEN, (PEER_SITE, 10, 2))
    assert p.query(WS_GET_LAST_SEEN, (PEER_SITE,)) == [(10, 2)]
    p.exec(WS_SET_LAST_SEEN, (PEER_SITE, 5, 7))
    assert p.query(WS_GET_LAST_SEEN, (PEER_SITE,)) == [(10, 2)]
    p.exec(WS_SET_LAST_SEEN, (PEER_SITE, 12, 0))
    assert p.query(WS_GET_LAST_SEEN, (PEER_SITE,)) == [(12, 0)]
    assert p.query("SELECT count(*) FROM crsql_tracked_peers") == [(1,)]


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_tracked_peers_is_strict_and_refuses_text_version(make_peer, kind):
    p = make_peer(kind, "p")
    msg = raises(p, TRACK_SQL, (PEER_SITE, "not a version"))
    assert "cannot store TEXT value in INTEGER column crsql_tracked_peers.version" in msg
    assert p.query("SELECT count(*) FROM crsql_tracked_peers") == [(0,)]


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_meta_table_writes_are_not_replicated(make_peer, kind):
    """Writes to crsql_master and crsql_tracked_peers leave crsql_changes and
    crsql_db_version() alone, between writes to a replicated table that do
    show."""
    p = make_peer(kind, "p")
    p.exec("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)")
    p.exec("SELECT crsql_as_crr('t')")
    p.exec("INSERT INTO t VALUES (1, 'one')")
    before_changes, before_version = all_changes(p), p.db_version()
    p.exec("INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_name', 'x')")
    p.exec("INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_version', 7)")
    p.exec(TRACK_SQL, (PEER_SITE, 5))
    p.exec(TRACK_SQL, (PEER_SITE, 6))
    p.exec("DELETE FROM crsql_master WHERE key = 'schema_version'")
    assert all_changes(p) == before_changes
    assert p.db_version() == before_version
    p.exec("INSERT INTO t VALUES (2, 'two')")
    assert p.query('SELECT DISTINCT "table" FROM crsql_changes') == [("t",)]


def test_meta_tables_do_not_travel_to_a_peer(make_peer):
    """A crlog replica's server bookkeeping reaches no peer: a real cr-sqlite
    peer syncing from it gets the replicated table only and keeps its own
    crsql_master / crsql_tracked_peers."""
    src = make_peer("crlog", "src")
    real = make_peer("crsqlite", "real")
    for p in (src, real):
        p.exec("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)")
        p.exec("SELECT crsql_as_crr('t')")
    src.exec("INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_name', 'x')")
    src.exec(TRACK_SQL, (PEER_SITE, 5))
    src.exec("INSERT INTO t VALUES (1, 'one')")
    sync(src, real)
    assert real.query("SELECT * FROM t") == [(1, "one")]
    assert real.query("SELECT key FROM crsql_master") == [("crsqlite_version",)]
    assert real.query("SELECT count(*) FROM crsql_tracked_peers") == [(0,)]


# ---------------------------------------------------------------- 3. crsql_config_set persists

def test_config_set_returns_value_and_keeps_it_in_crsql_master(make_peer):
    p = make_peer("crlog", "p")
    assert p.query("SELECT crsql_config_set('merge-equal-values', 1)") == [(1,)]
    assert p.query("SELECT key, value, typeof(value) FROM crsql_master "
                   "WHERE key LIKE 'config.%'") == [("config.merge-equal-values", 1, "integer")]
    assert p.scalar("SELECT crsql_config_get('merge-equal-values')") == 1
    # Setting it again replaces the row.
    assert p.query("SELECT crsql_config_set('merge-equal-values', 0)") == [(0,)]
    assert p.query("SELECT key, value FROM crsql_master "
                   "WHERE key LIKE 'config.%'") == [("config.merge-equal-values", 0)]


def test_config_set_survives_close_and_reopen(make_peer):
    p = make_peer("crlog", "p")
    p.exec("SELECT crsql_config_set('merge-equal-values', 1)")
    q = make_peer.reopen(p)
    assert q.scalar("SELECT crsql_config_get('merge-equal-values')") == 1
    q.exec("SELECT crsql_config_set('merge-equal-values', 0)")
    r = make_peer.reopen(q)
    assert r.scalar("SELECT crsql_config_get('merge-equal-values')") == 0


def _equal_value_tie(make_peer, setting, receiver_is_lower):
    """Two crlog replicas write 'same' to t(1).v at col_version 1; the
    receiver sets merge-equal-values, is closed and reopened, and merges the
    sender's cell. Returns (receiver, sender, the receiver's cell)."""
    a = make_peer("crlog", "a")
    b = make_peer("crlog", "b")
    lo, hi = sorted((a, b), key=lambda p: p.site_id())
    receiver, sender = (lo, hi) if receiver_is_lower else (hi, lo)
    for p in (receiver, sender):
        p.exec("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)")
        p.exec("SELECT crsql_as_crr('t')")
        p.exec("INSERT INTO t VALUES (1, 'same')")
    receiver.exec("SELECT crsql_config_set('merge-equal-values', ?)", (setting,))
    receiver = make_peer.reopen(receiver)
    assert receiver.scalar("SELECT crsql_config_get('merge-equal-values')") == setting
    sync(sender, receiver)
    cell = receiver.query("SELECT val, col_version, site_id FROM crsql_changes "
                          "WHERE \"table\" = 't' AND cid = 'v'")
    assert receiver.query("SELECT * FROM t") == [(1, "same")]
    return receiver, sender, cell


@pytest.mark.parametrize("setting", [1, 0])
def test_reopened_connection_merges_equal_values_by_the_kept_setting(make_peer, setting):
    """The sender's site id is bytewise greater: with merge-equal-values=1
    (set on an earlier connection) its site id wins the tie; with 0 nothing
    changes."""
    receiver, sender, cell = _equal_value_tie(make_peer, setting, receiver_is_lower=True)
    winner = sender.site_id() if setting == 1 else receiver.site_id()
    assert cell == [("same", 1, winner)]


def test_kept_merge_equal_values_lets_no_lower_site_win(make_peer):
    """With merge-equal-values=1 kept, a sender whose site id is bytewise
    smaller changes nothing."""
    receiver, sender, cell = _equal_value_tie(make_peer, 1, receiver_is_lower=False)
    assert cell == [("same", 1, receiver.site_id())]


def test_config_set_unknown_setting_errors_naming_it(make_peer):
    p = make_peer("crlog", "p")
    msg = raises(p, "SELECT crsql_config_set('no-such-setting', 1)")
    assert "no-such-setting" in msg
    assert p.query("SELECT key FROM crsql_master WHERE key LIKE 'config.%'") == []


def test_config_set_refused_value_is_not_kept(make_peer):
    p = make_peer("crlog", "p")
    msg = raises(p, "SELECT crsql_config_set('merge-equal-values', 7)")
    assert "merge-equal-values" in msg
    assert p.query("SELECT key FROM crsql_master WHERE key LIKE 'config.%'") == []
    assert p.scalar("SELECT crsql_config_get('merge-equal-values')") == 0


# ---------------------------------------------------------------- 4. older databases

def _db_without_meta_tables(make_peer):
    """A crlog database with a replicated row, then (closed, and without the
    extension) its crsql_master and crsql_tracked_peers dropped: what a
    database crlog initialised before they existed looks like. Returns
    (path, the tables' sqlite_master entries as crlog made them)."""
    p = make_peer("crlog", "old")
    p.exec("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)")
    p.exec("SELECT crsql_as_crr('t')")
    p.exec("INSERT INTO t VALUES (1, 'one')")
    made = meta_schema(p)
    path = p.path
    p.close()
    plain = sqlite3.connect(path, isolation_level=None)
    try:
        plain.executescript("DROP TABLE crsql_master; DROP TABLE crsql_tracked_peers;")
        assert plain.execute("SELECT count(*) FROM sqlite_master WHERE name IN "
                             "('crsql_master', 'crsql_tracked_peers')").fetchone() == (0,)
    finally:
        plain.close()
    return path, made


def test_older_database_gets_meta_tables_at_next_load(make_peer):
    path, made = _db_without_meta_tables(make_peer)
    p = CrlogPeer(path, "reloaded", extension=extension())
    try:
        assert meta_schema(p) == made
        assert p.query("SELECT key, value FROM crsql_master") == [("crsqlite_version", 150000)]
        assert p.query("SELECT * FROM t") == [(1, "one")]
        assert [c[:4] for c in all_changes(p)] == [("t", pk(p, 1), "v", "one")]
        p.exec(TRACK_SQL, (PEER_SITE, 3))
        assert p.query("SELECT crsql_config_set('merge-equal-values', 1)") == [(1,)]
    finally:
        p.close()


def test_read_only_load_works_without_meta_tables(make_peer):
    """Opened read-only (mode=ro), the older database loads crlog: the tables
    stay missing, crsql_changes and the settings' defaults answer. A later
    writable load adds them."""
    path, made = _db_without_meta_tables(make_peer)
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        load_crlog(ro)
        assert ro.execute("SELECT count(*) FROM sqlite_master WHERE name IN "
                          "('crsql_master', 'crsql_tracked_peers')").fetchone() == (0,)
        assert ro.execute('SELECT "table", cid, val FROM crsql_changes').fetchall() == [
            ("t", "v", "one")]
        assert ro.execute("SELECT crsql_db_version(), "
                          "crsql_config_get('merge-equal-values')").fetchone() == (1, 0)
        with pytest.raises(sqlite3.Error) as e:
            ro.execute("SELECT crsql_config_set('merge-equal-values', 1)").fetchall()
        assert "readonly" in str(e.value)
    finally:
        ro.close()
    p = CrlogPeer(path, "writable", extension=extension())
    try:
        assert meta_schema(p) == made
    finally:
        p.close()


def test_failed_config_set_leaves_the_setting_unchanged(make_peer):
    """crsql_config_set that errors (here: it cannot keep the setting, the
    database being read-only) has not changed the connection's setting
    either."""
    path, _ = _db_without_meta_tables(make_peer)
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        load_crlog(ro)
        with pytest.raises(sqlite3.Error):
            ro.execute("SELECT crsql_config_set('merge-equal-values', 1)").fetchall()
        assert ro.execute("SELECT crsql_config_get('merge-equal-values')").fetchone() == (0,)
    finally:
        ro.close()


def test_older_database_load_does_not_wait_for_another_writer(make_peer):
    """While another connection holds the write lock, loading crlog into the
    older database neither fails nor waits out the busy timeout (engine/
    replica.cc: "when this connection can write without waiting (else a later
    load does)"); the load after the writer is done adds the tables."""
    path, made = _db_without_meta_tables(make_peer)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        start = time.monotonic()
        p = CrlogPeer(path, "while_locked", extension=extension())  # busy timeout 5 s
        took = time.monotonic() - start
        try:
            assert p.query("SELECT * FROM t") == [(1, "one")]
        finally:
            writer.execute("COMMIT")
            p.close()
        assert took < 2.0, f"loading waited {took:.1f} s for the other writer"
    finally:
        writer.close()
    q = CrlogPeer(path, "after", extension=extension())
    try:
        assert meta_schema(q) == made
    finally:
        q.close()


# ---------------------------------------------------------------- 5. crsql_automigrate

V1 = """\
CREATE TABLE IF NOT EXISTS drafts (k TEXT PRIMARY KEY, body TEXT);
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, old TEXT, qty INTEGER);
CREATE INDEX IF NOT EXISTS items_by_name ON items (name);
CREATE INDEX IF NOT EXISTS items_by_qty ON items (qty);
SELECT crsql_as_crr('items');
"""
V1_ROWS = """\
INSERT INTO drafts VALUES ('d1', 'draft one');
INSERT INTO items VALUES (1, 'apple', 'gone1', 3), (2, 'pear', 'gone2', 5), (3, NULL, NULL, NULL);
"""
# From V1: items drops `old`, gains `color` with a DEFAULT; items_by_name
# gains a column; items_by_qty stays; drafts is dropped; tags is new and
# replicated.
V2 = """\
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, color TEXT DEFAULT 'red');
CREATE INDEX IF NOT EXISTS items_by_name ON items (name, qty);
CREATE INDEX IF NOT EXISTS items_by_qty ON items (qty);
SELECT crsql_as_crr('items');
CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY NOT NULL, item_id INTEGER, label TEXT);
SELECT crsql_as_crr('tags');
"""
V2_ITEMS = [(1, "apple", 3, "red"), (2, "pear", 5, "red"), (3, None, None, "red")]


def at_v1(make_peer, name="src"):
    p = make_peer("crlog", name)
    p.exec(V1)
    p.exec(V1_ROWS)
    return p


def automigrate(p, schema):
    return p.scalar("SELECT crsql_automigrate(?)", (schema,))


def snapshot(p):
    """Everything a failed automigrate must leave as it was."""
    return {"schema": whole_schema(p),
            "rows": {t: typed_rows(p, t) for t in tables(p)},
            "changes": all_changes(p),
            "db_version": p.db_version()}


def test_automigrate_v1_to_v2_gives_the_v2_schema(make_peer):
    """Tables, columns (type, NOT NULL, DEFAULT, pk) and indexes end as a
    real cr-sqlite database created directly at V2 has them."""
    p = at_v1(make_peer)
    assert automigrate(p, V2) == "migration complete"
    ref = make_peer("crsqlite", "ref")
    ref.exec(V2)
    assert tables(p) == tables(ref) == ["items", "tags"]
    for t in ("items", "tags"):
        assert table_info(p, t) == table_info(ref, t), t
        assert index_shape(p, t) == index_shape(ref, t), t
    assert index_shape(p, "items") == {"items_by_name": (0, ["name", "qty"]),
                                       "items_by_qty": (0, ["qty"])}


def test_automigrate_keeps_row_values(make_peer):
    p = at_v1(make_peer)
    automigrate(p, V2)
    assert p.query("SELECT * FROM items ORDER BY id") == V2_ITEMS
    assert p.query("SELECT * FROM tags") == []


def test_automigrate_changes_lose_dropped_column_and_skip_defaults(make_peer):
    """crsql_changes after the migration: nothing for the dropped column,
    nothing for the new column's default values (cr-sqlite backfills only
    values that differ from the default), the kept cells untouched."""
    p = at_v1(make_peer)
    kept_before = [c for c in changes_of(p, "items") if c[1] in ("name", "qty", "-1")]
    automigrate(p, V2)
    after = changes_of(p, "items")
    assert not [c for c in after if c[1] == "old"], after
    assert not [c for c in after if c[1] == "color"], after
    assert after == kept_before
    assert {c[0] for c in p.query('SELECT "table" FROM crsql_changes')} == {"items"}


def test_automigrate_new_writes_to_both_tables_are_captured(make_peer):
    p = at_v1(make_peer)
    automigrate(p, V2)
    v = p.db_version()
    p.exec("UPDATE items SET color = 'blue' WHERE id = 1")
    p.exec("INSERT INTO items (id, name, qty) VALUES (4, 'fig', 1)")
    p.exec("INSERT INTO tags VALUES (10, 1, 'fruit')")
    new = sorted(p.query('SELECT "table", pk, cid, val FROM crsql_changes '
                         "WHERE db_version > ?", (v,)), key=repr)
    assert new == sorted([
        ("items", pk(p, 1), "color", "blue"),
        ("items", pk(p, 4), "name", "fig"),
        ("items", pk(p, 4), "qty", 1),
        ("items", pk(p, 4), "color", "red"),
        ("tags", pk(p, 10), "item_id", 1),
        ("tags", pk(p, 10), "label", "fruit"),
    ], key=repr)


def test_automigrated_replica_syncs_both_ways_with_crsqlite_created_at_v2(make_peer):
    p = at_v1(make_peer)
    automigrate(p, V2)
    p.exec("UPDATE items SET color = 'blue' WHERE id = 1")
    p.exec("INSERT INTO tags VALUES (10, 1, 'fruit')")
    real = make_peer("crsqlite", "real")
    real.exec(V2)
    from_p = sync(p, real)
    assert real.query("SELECT * FROM items ORDER BY id") == [
        (1, "apple", 3, "blue"), (2, "pear", 5, "red"), (3, None, None, "red")]
    real.exec("UPDATE items SET color = 'green', qty = 6 WHERE id = 2")
    real.exec("INSERT INTO items VALUES (5, 'plum', 2, 'purple')")
    real.exec("INSERT INTO tags VALUES (11, 5, 'stone fruit')")
    real.exec("UPDATE tags SET label = 'fresh' WHERE id = 10")
    from_real = sync(real, p)
    p.exec("DELETE FROM items WHERE id = 3")
    sync(p, real, from_p)
    sync(real, p, from_real)
    for t in ("items", "tags"):
        assert typed_rows(p, t) == typed_rows(real, t), t
    assert p.query("SELECT * FROM items ORDER BY id") == [
        (1, "apple", 3, "blue"), (2, "pear", 6, "green"), (5, "plum", 2, "purple")]
    assert p.query("SELECT * FROM tags ORDER BY id") == [
        (10, 1, "fresh"), (11, 5, "stone fruit")]


NEW_PK_COLUMN = """\
CREATE TABLE IF NOT EXISTS items (id INTEGER NOT NULL, name TEXT, qty INTEGER, ver INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (id, ver));
CREATE INDEX IF NOT EXISTS items_by_qty ON items (qty);
SELECT crsql_as_crr('items');
"""


def test_automigrate_adding_pk_column_fails_and_changes_nothing(make_peer):
    """NEW_PK_COLUMN would drop drafts, drop items.old and items_by_name
    before it reaches the new pk column ver: the error names items and ver,
    and all of it is undone; the table still replicates every column as
    before."""
    p = at_v1(make_peer)
    before = snapshot(p)
    msg = raises(p, "SELECT crsql_automigrate(?)", (NEW_PK_COLUMN,))
    assert "items" in msg and "ver" in msg, msg
    assert snapshot(p) == before
    v = p.db_version()
    p.exec("UPDATE items SET old = 'back', qty = 4 WHERE id = 1")
    assert sorted(p.query('SELECT cid, val, col_version FROM crsql_changes '
                          "WHERE db_version > ?", (v,))) == [("old", "back", 2), ("qty", 4, 2)]
    assert automigrate(p, V2) == "migration complete"
    assert p.query("SELECT * FROM items ORDER BY id") == [
        (1, "apple", 4, "red"), (2, "pear", 5, "red"), (3, None, None, "red")]


@pytest.mark.parametrize("schema", [
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY NOT NULL, name TEXT,,);",
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY NOT NULL, name TEXT);\nSELEC 1;",
], ids=["bad_create", "bad_statement"])
def test_automigrate_unparsable_schema_fails_and_changes_nothing(make_peer, schema):
    p = at_v1(make_peer)
    before = snapshot(p)
    msg = raises(p, "SELECT crsql_automigrate(?)", (schema,))
    assert "syntax error" in msg, msg
    assert snapshot(p) == before


def test_automigrate_schema_that_does_not_reapply_fails_and_changes_nothing(make_peer):
    """A schema without IF NOT EXISTS builds fine on its own but cannot be
    re-applied to the migrated database: the whole migration is undone."""
    p = at_v1(make_peer)
    before = snapshot(p)
    msg = raises(p, "SELECT crsql_automigrate(?)", (V2.replace(" IF NOT EXISTS", ""),))
    assert "already exists" in msg, msg
    assert snapshot(p) == before


def test_automigrate_twice_is_a_noop_the_second_time(make_peer):
    p = at_v1(make_peer)
    automigrate(p, V2)
    p.exec("INSERT INTO tags VALUES (10, 1, 'fruit')")
    p.exec("UPDATE items SET color = 'blue' WHERE id = 2")
    once = snapshot(p)
    assert automigrate(p, V2) == "migration complete"
    assert snapshot(p) == once


def test_automigrate_inside_a_transaction_as_ws_server_runs_it(make_peer):
    """ws-server's #tryUpdatingSchema: BEGIN; crsql_automigrate; the new
    schema_version into crsql_master; COMMIT."""
    p = at_v1(make_peer)
    p.exec("BEGIN")
    assert automigrate(p, V2) == "migration complete"
    p.exec("INSERT OR REPLACE INTO crsql_master (key, value) VALUES ('schema_version', ?)",
           (-6917529027641081856,))
    p.exec("COMMIT")
    assert p.query("SELECT * FROM items ORDER BY id") == V2_ITEMS
    assert p.scalar("SELECT value FROM crsql_master WHERE key = 'schema_version'") == \
        -6917529027641081856
    v = p.db_version()
    p.exec("INSERT INTO tags VALUES (10, 1, 'fruit')")
    assert p.query('SELECT "table", cid, val FROM crsql_changes WHERE db_version > ? '
                   "ORDER BY cid", (v,)) == [("tags", "item_id", 1), ("tags", "label", "fruit")]


def test_automigrate_rolled_back_with_its_transaction_changes_nothing(make_peer):
    p = at_v1(make_peer)
    before = snapshot(p)
    p.exec("BEGIN")
    automigrate(p, V2)
    p.exec("ROLLBACK")
    assert snapshot(p) == before
    v = p.db_version()
    p.exec("UPDATE items SET old = 'back' WHERE id = 2")
    assert p.query("SELECT cid, val, col_version FROM crsql_changes WHERE db_version > ?",
                   (v,)) == [("old", "back", 2)]


def test_automigrate_new_column_without_default_gets_no_null_cells(make_peer):
    """A column added without a DEFAULT holds NULL, its default: the real
    cr-sqlite records no cell for it (its crsql_commit_alter backfills only
    values that are not the default); crlog should not either."""
    schema_v1 = ("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY NOT NULL, v TEXT);\n"
                 "SELECT crsql_as_crr('t');\n")
    real = make_peer("crsqlite", "real")
    real.exec(schema_v1)
    real.exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
    real.exec("SELECT crsql_begin_alter('t')")
    real.exec("ALTER TABLE t ADD COLUMN n INTEGER")
    real.exec("SELECT crsql_commit_alter('t')")
    assert {c[1] for c in changes_of(real, "t")} == {"v"}

    p = make_peer("crlog", "p")
    p.exec(schema_v1)
    p.exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
    automigrate(p, schema_v1.replace("v TEXT", "v TEXT, n INTEGER"))
    assert p.query("SELECT * FROM t ORDER BY id") == [(1, "one", None), (2, "two", None)]
    cells = changes_of(p, "t")
    assert not [c for c in cells if c[1] == "n"], cells


def test_automigrate_drops_a_replicated_table_out_of_crsql_changes(make_peer):
    """A replicated table the schema no longer has is dropped; crsql_changes
    stops listing it and stays readable, after a reopen too."""
    p = at_v1(make_peer)
    automigrate(p, V2)
    p.exec("INSERT INTO tags VALUES (10, 1, 'fruit')")
    only_items = V2.split("CREATE TABLE IF NOT EXISTS tags")[0]
    assert automigrate(p, only_items) == "migration complete"
    assert tables(p) == ["items"]
    assert {r[0] for r in p.query('SELECT "table" FROM crsql_changes')} == {"items"}
    q = make_peer.reopen(p)
    assert {r[0] for r in q.query('SELECT "table" FROM crsql_changes')} == {"items"}
    q.exec("INSERT INTO items (id, name) VALUES (9, 'kiwi')")
    assert sorted(q.query("SELECT cid, val FROM crsql_changes WHERE pk = ?", (pk(q, 9),))) == [
        ("color", "red"), ("name", "kiwi"), ("qty", None)]


def test_connections_to_one_shared_cache_memory_database_share_its_log():
    """A second connection to a shared-cache in-memory database used to be
    refused ("restore that directory beside the database"): both see one
    database, so both write to the one log the first connection made."""
    uri = "file:crlog_shared_memory?mode=memory&cache=shared"
    first = sqlite3.connect(uri, uri=True, isolation_level=None)
    first.enable_load_extension(True)
    first.load_extension(extension())
    first.execute("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)")
    first.execute("SELECT crsql_as_crr('t')")
    first.execute("INSERT INTO t VALUES (1, 'first')")
    second = sqlite3.connect(uri, uri=True, isolation_level=None)
    second.enable_load_extension(True)
    second.load_extension(extension())
    second.execute("INSERT INTO t VALUES (2, 'second')")
    for conn in (first, second):
        assert conn.execute("SELECT count(*) FROM crlog_events WHERE kind = 'change'").fetchone()[0] == 2
        assert sorted(r[0] for r in conn.execute("SELECT pk FROM crsql_changes")) == sorted(
            r[0] for r in first.execute("SELECT crsql_pack_columns(id) FROM t"))
    second.close()
    first.close()
