"""Altering a replicated table on a crlog replica, and what its peers see.

Issue "changes that never reach peers": writes made between
crsql_begin_alter('t') and crsql_commit_alter('t') on a crlog replica must
reach its peers, and an alter that changes the primary key or renames a
column must leave crsql_changes describing the table as it now is.

Every flow runs the same way (run_flow):
  1. a crlog SOURCE replica creates t, replicates it and gets some rows;
  2. a peer, BEFORE, syncs everything from it;
  3. the source migrates inside one transaction: crsql_begin_alter('t'), the
     DDL, some writes to t, crsql_commit_alter('t');
  4. BEFORE runs the same DDL in its own bracket (not the source's writes)
     and syncs again from where it stopped;
  5. a FRESH peer creates the post-migration schema, calls crsql_as_crr and
     syncs from scratch;
and then both peers must hold exactly the source's table (values and their
types), which must be what the migration and the writes made it.

The peers are crlog replicas or, parametrised, the real cr-sqlite 0.16
(tests/peer/crsqlite_peer.mjs): cr-sqlite peers receive crlog's changes.
The source is always crlog: cr-sqlite 0.16 itself does not send the writes
made inside its bracket (they are not captured and their cells keep their
old db_version), so it is no reference for steps 3-4.

Flows: ADD COLUMN with writes of every kind inside the bracket; RENAME
COLUMN (the renamed column is restamped, as cr-sqlite does); three primary
key changes through the 12-step alter (CREATE t_new, copy, DROP t, RENAME);
DROP COLUMN; what a peer synced before the alter is sent afterwards; and
crsql_commit_alter's result.

Run by ctest (peer.alter_flows) as
  CRLOG_EXTENSION=<build>/extension/crsqlite.so /usr/bin/python3 -m pytest \
      tests/peer/test_alter_flows.py
Needs tests/peer/node_modules (scripts/setup.sh installs it).
"""

import os
import sys
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import sync  # noqa: E402  (make_peer: conftest.py)

PEER_KINDS = ["crlog", "crsqlite"]


# ---------------------------------------------------------------- helpers


def create(p, ddl):
    p.exec(ddl)
    p.exec("SELECT crsql_as_crr('t')")


def alter(p, statements):
    """statements inside BEGIN; crsql_begin_alter('t') ...
    crsql_commit_alter('t'); COMMIT (docs/sql.md, "Altering a replicated
    table")."""
    p.exec("BEGIN")
    try:
        p.exec("SELECT crsql_begin_alter('t')")
        for sql in statements:
            p.exec(sql)
        p.exec("SELECT crsql_commit_alter('t')")
        p.exec("COMMIT")
    except Exception:
        try:
            p.exec("ROLLBACK")
        except Exception:
            pass  # the failure may have ended the transaction already
        raise


def columns(p):
    return [r[0] for r in p.query("SELECT name FROM pragma_table_info('t') ORDER BY cid")]


def pk_columns(p):
    return [r[0] for r in p.query(
        "SELECT name FROM pragma_table_info('t') WHERE pk > 0 ORDER BY pk")]


def rows(p):
    """SELECT * FROM t in pk order."""
    return p.query(f"SELECT * FROM t ORDER BY {', '.join(pk_columns(p))}")


def typed_rows(p):
    """Every row as (value, typeof(value), ...), in pk order."""
    sel = ", ".join(f'"{c}", typeof("{c}")' for c in columns(p))
    return p.query(f"SELECT {sel} FROM t ORDER BY {', '.join(pk_columns(p))}")


def table_state(p):
    return columns(p), pk_columns(p), typed_rows(p)


def packed_pks(p):
    """crsql_pack_columns of every current row's pk, as crsql_changes.pk."""
    cols = ", ".join(f'"{c}"' for c in pk_columns(p))
    return {r[0] for r in p.query(f"SELECT crsql_pack_columns({cols}) FROM t")}


def changes_of_t(p):
    return p.query('SELECT pk, cid, val, col_version, db_version, site_id, cl '
                   'FROM crsql_changes WHERE "table" = \'t\'')


def pk(p, *values):
    return p.scalar("SELECT crsql_pack_columns(" + ", ".join("?" * len(values)) + ")",
                    values)


def assert_holds_source_table(source, peers):
    want = table_state(source)
    for p in peers:
        got = table_state(p)
        assert got == want, (f"{p.name} ({p.kind}) does not hold the source's table:\n"
                             f"  source: {want}\n  {p.name}: {got}")


@dataclass
class Flow:
    before: str       # CREATE TABLE t, before the migration
    rows: str         # the rows the source has before it
    migration: list   # the DDL, run by the source and by BEFORE in a bracket
    writes: list      # the source's writes to t inside its bracket, after the DDL
    after: str        # CREATE TABLE t as the migration leaves it (FRESH's schema)
    expected: list    # SELECT * FROM t ORDER BY pk on the source afterwards


@dataclass
class Run:
    source: object
    before: object
    fresh: object
    last_before_alter: int  # the db_version BEFORE had taken before the alter


def run_flow(make_peer, flow, peer_kind):
    source = make_peer("crlog", "source")
    create(source, flow.before)
    source.exec(flow.rows)

    before = make_peer(peer_kind, "before")
    create(before, flow.before)
    last = sync(source, before)
    assert last > 0
    assert_holds_source_table(source, [before])

    alter(source, flow.migration + flow.writes)
    assert rows(source) == flow.expected, "the source's own table after its migration"

    alter(before, flow.migration)
    sync(source, before, last)

    fresh = make_peer(peer_kind, "fresh")
    create(fresh, flow.after)
    sync(source, fresh)

    assert_holds_source_table(source, [before, fresh])
    return Run(source, before, fresh, last)


def twelve_step(new_table, copy_columns):
    """SQLite's generic ALTER: a new table, the rows copied, the old one
    dropped, the new one renamed."""
    return [new_table,
            f"INSERT INTO t_new ({copy_columns}) SELECT {copy_columns} FROM t",
            "DROP TABLE t",
            "ALTER TABLE t_new RENAME TO t"]


def assert_changes_cover_current_rows_only(p):
    """After a primary key change: every crsql_changes row of t names a row t
    has now (its pk unpacks to a current row), and every current row has
    one."""
    current = packed_pks(p)
    in_changes = {c[0] for c in changes_of_t(p)}
    stale = in_changes - current
    missing = current - in_changes
    assert not stale, f"{p.name}: crsql_changes rows for pks t does not have: {sorted(stale)}"
    assert not missing, f"{p.name}: current rows without crsql_changes rows: {sorted(missing)}"


# ---------------------------------------------------------------- ADD COLUMN

ADD_COLUMN = Flow(
    before="CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b TEXT)",
    rows="INSERT INTO t VALUES (1, 'foo'), (2, 'baz'), (3, 'qux')",
    migration=["ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 33"],
    # The new values sort below the old ('bar' < 'foo', 11 < the default 33):
    # a write that kept the old col_version would lose a tie-break at BEFORE
    # instead of winning it by luck.
    writes=["INSERT INTO t VALUES (4, 'new', 55)",
            "UPDATE t SET b = 'bar' WHERE id = 1",
            "UPDATE t SET c = 11 WHERE id = 2",
            "DELETE FROM t WHERE id = 3"],
    after="CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b TEXT, c INTEGER DEFAULT 33)",
    expected=[(1, "bar", 33), (2, "baz", 11), (4, "new", 55)],
)


@pytest.mark.parametrize("peer_kind", PEER_KINDS)
def test_writes_inside_add_column_bracket_reach_peers(make_peer, peer_kind):
    """The issue's report: source [(1,'bar',44),(2,'baz',33)], a fresh peer got
    [(1,'bar',None)]."""
    run_flow(make_peer, ADD_COLUMN, peer_kind)


def test_peer_synced_before_alter_is_sent_the_bracket_writes(make_peer):
    """After the ADD COLUMN flow, what the source has above the db_version
    BEFORE had taken holds every write of the bracket: the inserted row, the
    two updated cells, and the delete as a '-1' row with an even causal
    length."""
    run = run_flow(make_peer, ADD_COLUMN, "crlog")
    s = run.source
    since = s.query('SELECT pk, cid, val, col_version, cl FROM crsql_changes '
                    'WHERE "table" = \'t\' AND db_version > ?', (run.last_before_alter,))
    by_cell = {(c[0], c[1]): c[2:] for c in since}

    def sent(pk_blob, cid):
        assert (pk_blob, cid) in by_cell, (f"({pk_blob!r}, {cid!r}) is not above "
                                           f"db_version {run.last_before_alter}: {since}")
        return by_cell[(pk_blob, cid)]

    assert sent(pk(s, 4), "b")[0] == "new"
    assert sent(pk(s, 4), "c")[0] == 55
    val, col_version, _ = sent(pk(s, 1), "b")
    assert val == "bar" and col_version >= 2, "an update of an old column bumps its col_version"
    assert sent(pk(s, 2), "c")[0] == 11
    val, _, cl = sent(pk(s, 3), "-1")
    assert val is None and cl % 2 == 0, f"row 3 is deleted: cl {cl} is even"
    # And nothing above it names a column the table lacks.
    assert {c[1] for c in since} <= {"b", "c", "-1"}


# ---------------------------------------------------------------- RENAME COLUMN

RENAME_COLUMN = Flow(
    before="CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b TEXT, n INTEGER)",
    rows="INSERT INTO t VALUES (1, 'one', 10), (2, 'two', 20), (3, 'three', 30)",
    migration=["ALTER TABLE t RENAME COLUMN b TO b2"],
    writes=["UPDATE t SET b2 = 'TWO' WHERE id = 2",   # 'TWO' < 'two'
            "UPDATE t SET n = 3 WHERE id = 3"],       # 3 < 30
    after="CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b2 TEXT, n INTEGER)",
    expected=[(1, "one", 10), (2, "TWO", 20), (3, "three", 3)],
)


@pytest.mark.parametrize("peer_kind", PEER_KINDS)
def test_rename_column_restamps_it_and_bracket_updates_reach_peers(make_peer, peer_kind):
    run = run_flow(make_peer, RENAME_COLUMN, peer_kind)
    s = run.source
    changes = changes_of_t(s)
    assert not [c for c in changes if c[1] == "b"], "no change names the old column"
    renamed = {c[0]: c for c in changes if c[1] == "b2"}
    assert set(renamed) == packed_pks(s), "every row has a cell for the renamed column"
    # cr-sqlite restamps a renamed column: col_version 1, this site.
    for row_id, b in ((1, "one"), (3, "three")):
        _, _, val, col_version, _, site, _ = renamed[pk(s, row_id)]
        assert (val, col_version, site) == (b, 1, s.site_id()), f"row {row_id}"
    # The update made after the rename is newer than the restamp: a peer that
    # renamed too restamps its own 'two' at col_version 1, and 'two' > 'TWO'
    # would win that tie.
    _, _, val, col_version, _, site, _ = renamed[pk(s, 2)]
    assert (val, site) == ("TWO", s.site_id())
    assert col_version >= 2


# ---------------------------------------------------------------- primary key changes

PK_CHANGES = {
    # pk (id) -> (id, k): an existing column joins the pk. The bracket's new
    # row shares id 1 with an old one, which only the new pk allows.
    "existing_column_joins_pk": Flow(
        before=("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, "
                "k TEXT NOT NULL DEFAULT '', b TEXT)"),
        rows="INSERT INTO t VALUES (1, 'x', 'one'), (2, 'y', 'two'), (3, 'x', 'three')",
        migration=twelve_step(
            "CREATE TABLE t_new (id INTEGER NOT NULL, k TEXT NOT NULL DEFAULT '', "
            "b TEXT, PRIMARY KEY (id, k))", "id, k, b"),
        writes=["INSERT INTO t VALUES (1, 'y', 'uno')"],
        after=("CREATE TABLE t (id INTEGER NOT NULL, k TEXT NOT NULL DEFAULT '', "
               "b TEXT, PRIMARY KEY (id, k))"),
        expected=[(1, "x", "one"), (1, "y", "uno"), (2, "y", "two"), (3, "x", "three")],
    ),
    # pk (a, b) -> (a): b stays as a non-pk column (a is unique in the data).
    "column_leaves_composite_pk": Flow(
        before=("CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT, "
                "PRIMARY KEY (a, b))"),
        rows="INSERT INTO t VALUES (1, 'x', 'one'), (2, 'x', 'two'), (3, 'y', 'three')",
        migration=twelve_step(
            "CREATE TABLE t_new (a INTEGER PRIMARY KEY NOT NULL, "
            "b TEXT NOT NULL DEFAULT '', v TEXT)", "a, b, v"),
        writes=["INSERT INTO t VALUES (4, 'z', 'four')"],
        after=("CREATE TABLE t (a INTEGER PRIMARY KEY NOT NULL, "
               "b TEXT NOT NULL DEFAULT '', v TEXT)"),
        expected=[(1, "x", "one"), (2, "x", "two"), (3, "y", "three"), (4, "z", "four")],
    ),
    # pk (id) -> (id, ver): a brand-new column, with a default, joins the pk.
    "new_column_joins_pk": Flow(
        before="CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b TEXT)",
        rows="INSERT INTO t VALUES (1, 'one'), (2, 'two')",
        migration=twelve_step(
            "CREATE TABLE t_new (id INTEGER NOT NULL, b TEXT, "
            "ver INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (id, ver))", "id, b"),
        writes=["INSERT INTO t VALUES (1, 'one v2', 2)"],
        after=("CREATE TABLE t (id INTEGER NOT NULL, b TEXT, "
               "ver INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (id, ver))"),
        expected=[(1, "one", 1), (1, "one v2", 2), (2, "two", 1)],
    ),
}


@pytest.mark.parametrize("peer_kind", PEER_KINDS)
@pytest.mark.parametrize("change", list(PK_CHANGES))
def test_pk_change_leaves_changes_for_current_rows_only(make_peer, change, peer_kind):
    """The 12-step alter changes the pk inside the bracket: the rows (old
    and new) reach both peers, and the source's crsql_changes speaks of the
    current rows only, in the new pk. crlog peers are held to the same: BEFORE
    ran the 12-step itself, FRESH merged everything in the new pk."""
    run = run_flow(make_peer, PK_CHANGES[change], peer_kind)
    assert_changes_cover_current_rows_only(run.source)
    if peer_kind == "crlog":
        for p in (run.before, run.fresh):
            assert_changes_cover_current_rows_only(p)


# ---------------------------------------------------------------- DROP COLUMN

DROP_COLUMN = Flow(
    before="CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b TEXT, gone INTEGER)",
    rows="INSERT INTO t VALUES (1, 'one', 10), (2, 'two', 20)",
    migration=["ALTER TABLE t DROP COLUMN gone"],
    writes=["INSERT INTO t VALUES (3, 'three')"],
    after="CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b TEXT)",
    expected=[(1, "one"), (2, "two"), (3, "three")],
)


@pytest.mark.parametrize("peer_kind", PEER_KINDS)
def test_insert_inside_drop_column_bracket_reaches_peers(make_peer, peer_kind):
    """A row inserted after DROP COLUMN, inside the bracket, reaches both
    peers, and no change names the dropped column any more."""
    run = run_flow(make_peer, DROP_COLUMN, peer_kind)
    cids = {c[1] for c in changes_of_t(run.source)}
    assert "gone" not in cids


# ---------------------------------------------------------------- the bracket itself

@pytest.mark.parametrize("kind", PEER_KINDS)
def test_commit_alter_returns_null(make_peer, kind):
    """cr-sqlite's crsql_commit_alter returns NULL; crlog's does too."""
    p = make_peer(kind, "p")
    create(p, "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, b TEXT)")
    p.exec("BEGIN")
    p.exec("SELECT crsql_begin_alter('t')")
    p.exec("ALTER TABLE t ADD COLUMN c TEXT")
    assert p.query("SELECT crsql_commit_alter('t')") == [(None,)]
    p.exec("COMMIT")
