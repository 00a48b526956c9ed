"""crsql_changes after local writes and merges, side by side with the real
cr-sqlite 0.16: the same statements on a crlog replica and on cr-sqlite must
list the same changes (seq, col_version, cl, which cells), except where
docs/sql.md's table of differences says crlog does better on purpose.

Covered:
- seq is the transaction's write counter in statement order, over every
  table, gaps allowed (a delete and re-insert in one transaction);
- an UPDATE that changes the pk deletes the old key and moves the cells to
  the new one keeping their column versions (crlog gives them the new
  db_version; cr-sqlite keeps the old one, which peers synced to it miss);
- a resurrect record alone for a live row keeps its cells listed at
  col_version 0, and a new life keeps the old life's cells under their
  writers' sites and seqs;
- the new key of a pk UPDATE, and a '-1' change of cl 1 alone, have an
  existence entry that every merge path (crsql_changes, crlog_apply) keeps;
- a merged change keeps its seq, and a read inside the merging transaction
  shows what it merged and what it wrote.
- crsql_next_db_version(v) inside a transaction raises the db_version of the
  writes made after it, as cr-sqlite's pending version: one transaction can
  commit rows at 2, 10 and 20.

Run by ctest (peer.write_parity); needs tests/peer/node_modules.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import CrlogPeer, CrsqlitePeer, peer_setup_problem  # noqa: E402

CHANGES = ('SELECT "table", hex(pk), cid, val, col_version, db_version, cl, seq '
           "FROM crsql_changes WHERE db_version > ? ORDER BY db_version, seq")


@pytest.fixture
def both(tmp_path):
    problem = peer_setup_problem()
    if problem:
        pytest.fail(f"cannot run the real cr-sqlite: {problem}")
    if not os.environ.get("CRLOG_EXTENSION"):
        pytest.fail("CRLOG_EXTENSION is not set (path of crlog's crsqlite.so)")
    peers = [CrsqlitePeer("crsqlite"), CrlogPeer(tmp_path / "crlog.db", "crlog")]
    yield peers
    for p in peers:
        p.close()


def run_both(peers, *scripts):
    for p in peers:
        for sql in scripts:
            p.exec(sql)


def test_seq_counts_writes_in_statement_order_over_every_table(both):
    run_both(both,
             "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');"
             "CREATE TABLE s(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('s');",
             "BEGIN; INSERT INTO t VALUES (7, 'q', 1); INSERT INTO s VALUES (1, 'a', 1); "
             "UPDATE t SET a = 'r' WHERE id = 7; DELETE FROM s WHERE id = 1; "
             "INSERT INTO s VALUES (1, 'z', 3); COMMIT;")
    real, ours = (p.query(CHANGES, (0,)) for p in both)
    assert ours == real
    assert [r[7] for r in ours] == [1, 4, 6, 7, 8], "gaps where later writes replaced earlier ones"


def test_seq_of_an_update_after_a_reinsert_has_a_gap(both):
    run_both(both,
             "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');",
             "INSERT INTO t VALUES (1, 'x', 1)",
             "DELETE FROM t WHERE id = 1",
             "BEGIN; INSERT INTO t VALUES (1, 'y', 2); UPDATE t SET a = 'w' WHERE id = 1; COMMIT;")
    real, ours = (p.query(CHANGES, (2,)) for p in both)
    assert ours == real


def test_pk_update_deletes_the_old_key_and_moves_cells_keeping_their_versions(both):
    run_both(both,
             "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');",
             "INSERT INTO t VALUES (1, 'x', 2)",
             "UPDATE t SET a = 'y' WHERE id = 1",
             "UPDATE t SET id = 5 WHERE id = 1")
    real, ours = (p.query(CHANGES, (0,)) for p in both)
    # The old key: deleted (cl 2) in both.
    old = lambda rows: [r for r in rows if r[1] == "010901"]
    assert [(r[2], r[4], r[6]) for r in old(ours)] == [(r[2], r[4], r[6]) for r in old(real)] == [("-1", 2, 2)]
    # The new key's cells keep their column versions in both.
    cells = lambda rows: sorted((r[2], r[3], r[4], r[6]) for r in rows if r[1] == "010905" and r[2] != "-1")
    assert cells(ours) == cells(real) == [("a", "y", 2, 1), ("b", 2, 1, 1)]
    # On purpose (docs/sql.md): crlog's moved cells carry the move's
    # db_version, so a peer synced up to the version before still gets them.
    assert {r[5] for r in ours if r[1] == "010905"} == {3}
    assert {r[5] for r in real if r[1] == "010905" and r[2] != "-1"} == {1, 2}
    # The new key's existence entry: cl 1, written by the move, in both.
    entry = lambda rows: [(r[2], r[4], r[5], r[6], r[7]) for r in rows if r[1] == "010905" and r[2] == "-1"]
    assert entry(ours) == entry(real) == [("-1", 1, 3, 1, 1)]


def test_pk_update_entry_reaches_peers_through_both_merge_paths(both, tmp_path):
    """The new key's '-1' entry is in the event, so a crlog replica that
    takes the UPDATE over crsql_changes, and one that takes it over the
    engine's own path (crlog_export / crlog_apply), list the same changes as
    the writer."""
    real, writer = both
    writer.exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');"
                "INSERT INTO t VALUES (1, 'x', 2); UPDATE t SET id = 5 WHERE id = 1;")
    over_sql = CrlogPeer(tmp_path / "over_sql.db", "over_sql")
    over_engine = CrlogPeer(tmp_path / "over_engine.db", "over_engine")
    try:
        for p in (over_sql, over_engine):
            p.exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');")
        over_sql.apply(writer.changes_since(0, over_sql.site_id()))
        bundle = writer.query("SELECT crlog_export()")[0][0]
        over_engine.exec("SELECT crlog_apply(?)", (bundle,))
        entries = lambda p: p.query("SELECT hex(pk), cl, col_version FROM crsql_changes WHERE cid = '-1' "
                                    "ORDER BY pk")
        assert entries(writer) == [("010901", 2, 2), ("010905", 1, 1)]
        assert entries(over_sql) == entries(writer)
        assert entries(over_engine) == entries(writer)
        assert over_sql.query("SELECT * FROM t") == over_engine.query("SELECT * FROM t") == [(5, "x", 2)]
    finally:
        over_sql.close()
        over_engine.close()


def test_first_life_entry_alone_is_listed_for_relaying(both, tmp_path):
    """A '-1' change with cl 1 for a row the receiver lacks creates the row
    (all columns NULL) and is listed, so a third replica syncing from the
    receiver gets the row too."""
    site = bytes(range(16))
    run_both(both, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');")
    for p in both:
        p.exec("BEGIN")
        p.exec("INSERT INTO crsql_changes VALUES ('t', X'010909', '-1', NULL, 1, 9, ?, 1, 3)", (site,))
        p.exec("COMMIT")
    real, ours = (p.query('SELECT hex(pk), cid, col_version, cl, seq FROM crsql_changes') for p in both)
    assert ours == real == [("010909", "-1", 1, 1, 3)]
    third = CrlogPeer(tmp_path / "third.db", "third")
    try:
        third.exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');")
        third.apply(both[1].changes_since(0, third.site_id()))
        assert third.query("SELECT * FROM t") == [(9, None, None)]
    finally:
        third.close()


def test_resurrect_record_alone_keeps_a_live_rows_cells_at_version_zero(both):
    site = bytes(range(16))
    run_both(both,
             "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');",
             "INSERT INTO t VALUES (1, 'x', 2)",
             "UPDATE t SET a = 'y' WHERE id = 1")
    for p in both:
        p.exec("BEGIN")
        p.exec("INSERT INTO crsql_changes VALUES ('t', X'010901', '-1', NULL, 3, 5, ?, 3, 0)", (site,))
        p.exec("COMMIT")
    real, ours = (p.query(CHANGES, (0,)) for p in both)
    assert ours == real
    assert [(r[2], r[4], r[6]) for r in ours] == [("-1", 3, 3), ("a", 0, 3), ("b", 0, 3)]
    assert [p.query("SELECT * FROM t") for p in both] == [[(1, "y", 2)]] * 2


@pytest.mark.parametrize("one_transaction", [False, True])
def test_new_life_keeps_the_old_lifes_cells_under_their_writers(both, one_transaction):
    writer, reviver = bytes([0x11] * 16), bytes([0xee] * 16)
    run_both(both, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');")
    for p in both:
        p.exec("BEGIN")
        p.exec("INSERT INTO crsql_changes VALUES ('t', X'010901', 'a', 'hi', 2, 1, ?, 1, 4)", (writer,))
        if not one_transaction:
            p.exec("COMMIT")
            p.exec("BEGIN")
        p.exec("INSERT INTO crsql_changes VALUES ('t', X'010901', 'b', 7, 5, 1, ?, 5, 0)", (reviver,))
        p.exec("COMMIT")
    listing = ('SELECT cid, val, col_version, cl, seq, hex(site_id) FROM crsql_changes '
               "WHERE cid != '-1' ORDER BY cid")
    real, ours = (p.query(listing) for p in both)
    assert ours == real == [("a", "hi", 0, 5, 4, "11" * 16), ("b", 7, 5, 5, 0, "EE" * 16)]
    assert [p.query("SELECT * FROM t") for p in both] == [[(1, "hi", 7)]] * 2


def test_merged_change_keeps_its_seq(both):
    site = bytes(range(16))
    run_both(both, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');")
    for p in both:
        p.exec("BEGIN")
        p.exec("INSERT INTO crsql_changes VALUES ('t', X'010902', 'a', 'm', 1, 9, ?, 1, 7)", (site,))
        p.exec("COMMIT")
    real, ours = (p.query('SELECT cid, val, col_version, cl, seq FROM crsql_changes') for p in both)
    assert ours == real == [("a", "m", 1, 1, 7)]


def test_merged_changes_are_read_inside_their_transaction(both):
    site = bytes(range(16))
    run_both(both, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');")
    seen = []
    for p in both:
        p.exec("BEGIN")
        p.exec("INSERT INTO crsql_changes VALUES ('t', X'010902', 'a', 'm', 1, 9, ?, 1, 7)", (site,))
        p.exec("INSERT INTO crsql_changes VALUES ('t', X'010903', '-1', NULL, 2, 9, ?, 2, 8)", (site,))
        seen.append((p.query(CHANGES, (0,)), p.query(CHANGES, (9,))))
        p.exec("COMMIT")
        assert p.query(CHANGES, (0,)) == seen[-1][0], "what a read showed inside is what peers see after"
    assert seen[1] == seen[0]
    assert [(r[2], r[5]) for r in seen[1][0]] == [("a", 9), ("-1", 9)]
    assert seen[1][1] == []


def test_local_writes_are_read_inside_their_transaction(both):
    run_both(both,
             "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');"
             "CREATE TABLE k(x NOT NULL, y NOT NULL, PRIMARY KEY (x, y)); SELECT crsql_as_crr('k');",
             "INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)")
    seen = []
    for p in both:
        p.exec("BEGIN")
        p.exec("UPDATE t SET a = 'x2' WHERE id = 1")
        p.exec("DELETE FROM t WHERE id = 2")
        p.exec("INSERT INTO t VALUES (3, 'z', 3)")
        p.exec("INSERT INTO k VALUES (1, 2)")
        inside = (p.query(CHANGES, (0,)), p.query(CHANGES, (1,)))
        p.exec("COMMIT")
        assert p.query(CHANGES, (0,)) == inside[0], "what a read showed inside is what peers see after"
        seen.append(inside)
    assert seen[1] == seen[0]
    assert ("-1", 2) in [(r[2], r[6]) for r in seen[1][1]], "the delete is listed before COMMIT"


def test_next_db_version_moves_the_version_of_the_writes_after_it(both):
    run_both(both,
             "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');",
             "INSERT INTO t VALUES (0, 0, 0)")
    seen = []
    for p in both:
        p.exec("BEGIN")
        p.exec("INSERT INTO t VALUES (1, 'x', 1)")
        p.exec("SELECT crsql_next_db_version(10)")
        p.exec("INSERT INTO t VALUES (2, 'y', 2)")
        p.exec("UPDATE t SET a = 'x2' WHERE id = 1")
        p.exec("SELECT crsql_next_db_version(20)")
        p.exec("DELETE FROM t WHERE id = 0")
        p.exec("SELECT crsql_next_db_version(15)")  # lower: changes nothing
        p.exec("INSERT INTO t VALUES (3, 'z', 3)")
        p.exec("SELECT crsql_next_db_version(25)")  # after the last write
        inside = p.query(CHANGES, (1,))
        p.exec("COMMIT")
        assert p.query(CHANGES, (1,)) == inside, "what a read showed inside is what peers see after"
        seen.append((inside, p.query(CHANGES.replace("> ?", "= ?"), (10,)),
                     p.query(CHANGES, (10,)), p.db_version()))
    assert seen[1] == seen[0]
    rows, at_ten, above_ten, db_version = seen[1]
    assert sorted({r[5] for r in rows}) == [2, 10, 20]
    assert [(r[2], r[5]) for r in at_ten] == [("a", 10), ("b", 10), ("a", 10)]
    assert {r[5] for r in above_ten} == {20}
    assert db_version == 25


def test_next_db_version_before_any_write_moves_them_all(both):
    run_both(both, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a); SELECT crsql_as_crr('t');",
             "BEGIN; SELECT crsql_next_db_version(30); SELECT crsql_next_db_version(28); "
             "INSERT INTO t VALUES (4, 'w'); COMMIT;")
    real, ours = ((p.query(CHANGES, (0,)), p.db_version()) for p in both)
    assert ours == real
    assert {r[5] for r in ours[0]} == {30} and ours[1] == 30
