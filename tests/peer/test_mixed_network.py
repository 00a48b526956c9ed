"""A mixed network: crlog replicas and the real cr-sqlite 0.16 syncing through
the crsql_changes loop an app writes (compat doc, "Sync loop an app writes
today"), in both directions.

Run by ctest (peer.mixed_network) as
  CRLOG_EXTENSION=<build>/extension/crsqlite.so /usr/bin/python3 -m pytest \
      tests/peer/test_mixed_network.py
Needs tests/peer/node_modules (scripts/setup.sh installs it); without it every
test that needs cr-sqlite fails and says so. CRLOG_PEER_SEED=<n> replays one
seed of the random network test.
"""

import math
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import (APPLY_SQL, CrlogPeer, CrsqlitePeer, PeerError,  # noqa: E402
                  peer_setup_problem)

SCHEMA = {
    "items": ("CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, "
              "name TEXT, qty INTEGER, price REAL, data BLOB)", "id"),
    # Every column is part of the pk: rows exist or not, nothing else.
    "tags": ("CREATE TABLE tags (a TEXT NOT NULL, b INTEGER NOT NULL, "
             "PRIMARY KEY (a, b))", "a, b"),
    # Untyped columns: any value, in the pk too.
    "anyv": ("CREATE TABLE anyv (k NOT NULL, j NOT NULL, v, w, "
             "PRIMARY KEY (k, j))", "k, j"),
}


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def make_peer(tmp_path):
    """make_peer('crlog'|'crsqlite', name) -> a peer with SCHEMA replicated."""
    made = []

    def make(kind, name, schema=True):
        if kind == "crsqlite":
            problem = peer_setup_problem()
            if problem:
                pytest.fail(f"cannot run the real cr-sqlite: {problem}")
            p = CrsqlitePeer(name)
        else:
            if not os.environ.get("CRLOG_EXTENSION"):
                pytest.fail("CRLOG_EXTENSION is not set (path of crlog's crsqlite.so)")
            p = CrlogPeer(tmp_path / f"{name}.db", name)
        made.append(p)
        if schema:
            for table, (ddl, _) in SCHEMA.items():
                p.exec(ddl)
                p.exec("SELECT crsql_as_crr(?)", (table,))
        return p

    yield make
    errors = []
    for p in made:
        try:
            p.close()
        except Exception as e:  # report every peer that failed to close
            errors.append(f"{p.name}: {e}")
    assert not errors, errors


class Network:
    """The app's sync loop: per (source, destination) the last db_version
    taken from the source; each sync pulls what the destination did not write
    and merges it in one transaction."""

    def __init__(self):
        self.last = {}

    def sync(self, src, dst):
        key = (src.name, dst.name)
        last = self.last.get(key, 0)
        changes = src.changes_since(last, dst.site_id())
        dst.apply(changes)
        if changes:
            self.last[key] = max(last, max(c[5] for c in changes))
        return changes

    def sync_all(self, peers, rounds=2):
        for _ in range(rounds):
            for src in peers:
                for dst in peers:
                    if src is not dst:
                        self.sync(src, dst)


def table_rows(p, table):
    return p.query(f"SELECT * FROM {table} ORDER BY {SCHEMA[table][1]}")


def typed_rows(p, table, cols):
    sel = ", ".join(f"{c}, typeof({c})" for c in cols)
    return p.query(f"SELECT {sel} FROM {table} ORDER BY {SCHEMA[table][1]}")


def cells(p):
    return p.query('SELECT "table", pk, cid, val, col_version, cl '
                   'FROM crsql_changes ORDER BY "table", pk, cid')


def assert_converged(peers, context=""):
    first = peers[0]
    for table in SCHEMA:
        want = table_rows(first, table)
        for p in peers[1:]:
            got = table_rows(p, table)
            assert got == want, (f"{context}table {table}: {p.name} ({p.kind}) "
                                 f"differs from {first.name} ({first.kind})")
    want = cells(first)
    for p in peers[1:]:
        got = cells(p)
        assert got == want, (f"{context}crsql_changes of {p.name} ({p.kind}) "
                             f"differ from {first.name} ({first.kind}):\n"
                             f"only {p.name}: {sorted(set(got) - set(want), key=repr)}\n"
                             f"only {first.name}: {sorted(set(want) - set(got), key=repr)}")


def pk(p, *values):
    return p.scalar("SELECT crsql_pack_columns(" + ", ".join("?" * len(values)) + ")",
                    values)


def cell(p, table, pk_blob, cid):
    rows = p.query('SELECT val, col_version, cl FROM crsql_changes '
                   'WHERE "table" = ? AND pk = ? AND cid = ?', (table, pk_blob, cid))
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


# The two mixed directions, and cr-sqlite with itself: the reference that
# shows the expectations below are what the real cr-sqlite does.
KINDS = [("crlog", "crsqlite"), ("crsqlite", "crlog"), ("crsqlite", "crsqlite")]
KIND_IDS = ["crlog_to_crsqlite", "crsqlite_to_crlog", "crsqlite_to_crsqlite"]


# ---------------------------------------------------------------- setup

def test_peer_is_installed():
    problem = peer_setup_problem()
    assert problem is None, problem


def test_crsqlite_peer_protocol(make_peer):
    """The harness itself: values of every type survive the round trip."""
    c = make_peer("crsqlite", "c", schema=False)
    values = (0, -1, 2**63 - 1, -2**63, 2**53 + 1, 1.0, -0.5, 1e308, math.inf,
              "", "héllo ☃ 𝄞", b"", b"\x00\xff", None)
    row = c.query("SELECT " + ", ".join("?" * len(values)), values)[0]
    assert row == values
    assert [type(v) for v in row] == [type(v) for v in values]
    types = c.query("SELECT " + ", ".join("typeof(?)" for _ in values), values)[0]
    assert types == ("integer",) * 5 + ("real",) * 4 + ("text",) * 2 + ("blob",) * 2 + ("null",)
    with pytest.raises(PeerError, match="syntax error"):
        c.exec("SELEC 1")
    c.exec("BEGIN; CREATE TABLE x(a); INSERT INTO x VALUES (1), (2); COMMIT")
    assert c.query("SELECT a FROM x ORDER BY a") == [(1,), (2,)]


# ---------------------------------------------------------------- two peers

def test_both_directions(make_peer):
    crlog = make_peer("crlog", "crlog")
    cr = make_peer("crsqlite", "cr")
    net = Network()

    crlog.exec("INSERT INTO items VALUES (1, 'apple', 3, 1.25, X'01'), "
               "(2, 'pear', 5, 0.5, NULL), (3, NULL, NULL, NULL, NULL)")
    crlog.exec("INSERT INTO tags VALUES ('fruit', 1), ('fruit', 2)")
    assert net.sync(crlog, cr), "crlog had changes to send"
    assert table_rows(cr, "items") == table_rows(crlog, "items")
    assert_converged([crlog, cr], "crlog->cr-sqlite: ")

    cr.exec("UPDATE items SET qty = qty + 10 WHERE id = 1")
    cr.exec("INSERT INTO items VALUES (4, 'plum', 7, 2.0, X'0404')")
    cr.exec("DELETE FROM tags WHERE b = 2")
    assert net.sync(cr, crlog), "cr-sqlite had changes to send"
    assert table_rows(crlog, "items")[0] == (1, "apple", 13, 1.25, b"\x01")
    assert_converged([crlog, cr], "cr-sqlite->crlog: ")

    # Nothing new on either side: the loop sends nothing back.
    assert net.sync(crlog, cr) == []
    assert net.sync(cr, crlog) == []
    # cr-sqlite's own changes relayed back by crlog carry cr-sqlite's site and
    # are filtered out by "site_id IS NOT".
    assert crlog.changes_since(0, cr.site_id()) == \
        [c for c in crlog.changes_since(0, None) if c[6] != cr.site_id()]


@pytest.mark.parametrize("writer_kind,reader_kind", KINDS, ids=KIND_IDS)
def test_updates_deletes_resurrection(make_peer, writer_kind, reader_kind):
    w = make_peer(writer_kind, "w")
    r = make_peer(reader_kind, "r")
    net = Network()
    w.exec("INSERT INTO items (id, name, qty) VALUES "
           "(1, 'a', 1), (2, 'b', 2), (3, 'c', 3), (4, 'd', 4), (5, 'e', 5)")
    net.sync(w, r)
    assert_converged([w, r])

    w.exec("UPDATE items SET name = 'A', qty = 10 WHERE id = 1")
    w.exec("UPDATE items SET name = 'AA' WHERE id = 1")
    w.exec("DELETE FROM items WHERE id = 2")
    w.exec("DELETE FROM items WHERE id = 3")
    w.exec("INSERT INTO items (id, name) VALUES (3, 'c again')")
    w.exec("DELETE FROM items WHERE id = 4")
    w.exec("INSERT INTO items (id, name) VALUES (4, 'd again')")
    w.exec("DELETE FROM items WHERE id = 4")
    w.exec("INSERT INTO items (id, name) VALUES (6, 'never seen')")
    w.exec("DELETE FROM items WHERE id = 6")
    net.sync(w, r)
    assert_converged([w, r])
    assert r.query("SELECT id, name, qty FROM items ORDER BY id") == [
        (1, "AA", 10), (3, "c again", None), (5, "e", 5)]
    assert cell(r, "items", pk(r, 1), "name") == ("AA", 3, 1)
    assert cell(r, "items", pk(r, 2), "-1") == (None, 2, 2)
    assert cell(r, "items", pk(r, 4), "-1") == (None, 4, 4)
    assert cell(r, "items", pk(r, 6), "-1") == (None, 2, 2)
    # Resurrected: cl 3, the new cells restart at col_version 1.
    assert cell(r, "items", pk(r, 3), "name") == ("c again", 1, 3)

    # The reader brings 2 back (cl 3) and deletes 5 (cl 2); the writer learns.
    r.exec("INSERT INTO items (id, name, qty) VALUES (2, 'b back', 22)")
    r.exec("DELETE FROM items WHERE id = 5")
    net.sync(r, w)
    assert_converged([w, r])
    assert w.query("SELECT id, name, qty FROM items ORDER BY id") == [
        (1, "AA", 10), (2, "b back", 22), (3, "c again", None)]
    assert cell(w, "items", pk(w, 2), "name") == ("b back", 1, 3)
    assert cell(w, "items", pk(w, 5), "-1") == (None, 2, 2)


def test_all_pk_table(make_peer):
    crlog = make_peer("crlog", "crlog")
    cr = make_peer("crsqlite", "cr")
    net = Network()
    crlog.exec("INSERT INTO tags VALUES ('x', 1), ('x', 2), ('y', -3)")
    cr.exec("INSERT INTO tags VALUES ('x', 2), ('z', 9)")
    net.sync_all([crlog, cr])
    assert_converged([crlog, cr])
    assert table_rows(cr, "tags") == [("x", 1), ("x", 2), ("y", -3), ("z", 9)]
    assert cell(cr, "tags", pk(cr, "x", 1), "-1") == (None, 1, 1)

    cr.exec("DELETE FROM tags WHERE a = 'x' AND b = 1")
    crlog.exec("DELETE FROM tags WHERE a = 'z'")
    net.sync_all([crlog, cr])
    assert_converged([crlog, cr])
    crlog.exec("INSERT INTO tags VALUES ('x', 1)")  # resurrection, cl 3
    net.sync_all([crlog, cr])
    assert_converged([crlog, cr])
    assert table_rows(crlog, "tags") == [("x", 1), ("x", 2), ("y", -3)]
    assert cell(cr, "tags", pk(cr, "x", 1), "-1") == (None, 3, 3)
    assert cell(crlog, "tags", pk(crlog, "z", 9), "-1") == (None, 2, 2)


@pytest.mark.parametrize("first_kind,second_kind", KINDS, ids=KIND_IDS)
def test_concurrent_writes_same_cell(make_peer, first_kind, second_kind):
    x = make_peer(first_kind, "x")
    y = make_peer(second_kind, "y")
    net = Network()
    x.exec("INSERT INTO anyv (k, j, v) VALUES " +
           ", ".join(f"({i}, 0, 0)" for i in range(1, 12)))
    net.sync(x, y)

    # (x's writes, y's writes, the value both must end with)
    cases = [
        # more writes = higher col_version wins, whatever the values
        (["zz", "a"], ["zzz"], "a"),
        (["a"], [1, 2, "b"], "b"),
        # equal col_version: the greater value wins
        ([5], [7], 7),
        ([-7], [-5], -5),
        (["abc"], ["abd"], "abd"),
        ([b"\x01\x02"], [b"\x01\x03"], b"\x01\x03"),
        # ... and values of different types compare by type alone:
        # INTEGER > REAL > TEXT > BLOB > NULL
        ([1], [1.5], 1),
        ([2.5], ["zzz"], 2.5),
        (["a"], [b"\xff"], "a"),
        ([None], [b""], b""),
        ([2**63 - 1], [1e300], 2**63 - 1),
    ]
    for i, (xs, ys, _) in enumerate(cases, 1):
        for v in xs:
            x.exec("UPDATE anyv SET v = ? WHERE k = ? AND j = 0", (v, i))
        for v in ys:
            y.exec("UPDATE anyv SET v = ? WHERE k = ? AND j = 0", (v, i))
    net.sync_all([x, y])
    assert_converged([x, y])
    got = x.query("SELECT k, v FROM anyv ORDER BY k")
    assert got == [(i, want) for i, (_, _, want) in enumerate(cases, 1)]
    assert [type(v) for _, v in got] == [type(c[2]) for c in cases]


@pytest.mark.parametrize("first_kind,second_kind", KINDS, ids=KIND_IDS)
def test_concurrent_delete_update_insert(make_peer, first_kind, second_kind):
    x = make_peer(first_kind, "x")
    y = make_peer(second_kind, "y")
    net = Network()
    x.exec("INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    net.sync(x, y)
    x.exec("DELETE FROM items WHERE id = 1")          # cl 2 beats an update
    y.exec("UPDATE items SET name = 'uno', qty = 1 WHERE id = 1")
    x.exec("DELETE FROM items WHERE id = 2")          # both delete: cl 2 both
    y.exec("DELETE FROM items WHERE id = 2")
    x.exec("DELETE FROM items WHERE id = 3")          # x resurrects: cl 3
    x.exec("INSERT INTO items (id, name) VALUES (3, 'tres')")
    y.exec("UPDATE items SET name = 'drei', qty = 3 WHERE id = 3")
    x.exec("INSERT INTO items (id, name) VALUES (4, 'x four')")  # concurrent inserts
    y.exec("INSERT INTO items (id, name) VALUES (4, 'y four')")
    net.sync_all([x, y])
    assert_converged([x, y])
    assert x.query("SELECT id, name, qty FROM items ORDER BY id") == [
        (3, "tres", None), (4, "y four", None)]


@pytest.mark.parametrize("writer_kind,reader_kind", KINDS[:2], ids=KIND_IDS[:2])
def test_values_of_every_type(make_peer, writer_kind, reader_kind):
    w = make_peer(writer_kind, "w")
    r = make_peer(reader_kind, "r")
    net = Network()
    values = [0, 1, -1, 127, 128, 255, 256, 65535, 2**31, -2**31 - 1, 2**53 + 1,
              -(2**53) - 1, 2**63 - 1, -2**63, -5,
              0.0, 1.5, -2.25, 0.1, 1e-300, 1e300, math.inf, -math.inf, 3.0,
              "", "plain", "héllo wörld", "日本語", "emoji 😀 𝄞", "a" * 300,
              b"", b"\x00", b"\xff" * 3, bytes(range(256)) * 2, None]
    for i, v in enumerate(values):
        w.exec("INSERT INTO anyv (k, j, v, w) VALUES (?, 0, ?, ?)", (i, v, i))
        # The same value as a pk column, beside each type of the other column.
        w.exec("INSERT INTO anyv (k, j, v) VALUES (?, ?, 'pk')",
               (v if v is not None else "null", -i - 1))
    w.exec("INSERT INTO items VALUES (1, 'ü', -9223372036854775808, -0.5, X'')")
    net.sync(w, r)
    assert_converged([w, r])
    assert typed_rows(r, "anyv", ["k", "j", "v", "w"]) == \
        typed_rows(w, "anyv", ["k", "j", "v", "w"])
    assert typed_rows(r, "items", ["id", "name", "qty", "price", "data"]) == \
        [(1, "integer", "ü", "text", -2**63, "integer", -0.5, "real", b"", "blob")]
    got = dict(r.query("SELECT k, v FROM anyv WHERE j = 0"))
    assert [got[i] for i in range(len(values))] == values
    assert [type(got[i]) for i in range(len(values))] == [type(v) for v in values]
    # Same pk bytes on both sides: the packed-columns format agrees.
    assert r.query("SELECT pk FROM crsql_changes ORDER BY pk") == \
        w.query("SELECT pk FROM crsql_changes ORDER BY pk")
    for v in (1, 128, 256, -1, 1.5, "ab", b"\xff", 2**63 - 1, -2**63):
        assert pk(r, v) == pk(w, v), v


# ---------------------------------------------------------------- three peers

def random_writes(rng, step):
    """One random local transaction, as a list of (sql, params). Each one
    applies whatever state the replica is in, so a history can be replayed
    with steps left out."""
    op = rng.random()
    i = rng.randint(1, 8)
    val = rng.choice([1, 2, 3, "a", "b", 2.5, b"\x01", None, step])
    if op < 0.35:
        return [("INSERT OR REPLACE INTO items (id, name, qty) VALUES (?, ?, ?)",
                 (i, rng.choice(["a", "b", "c"]), val))]
    if op < 0.6:
        col = rng.choice(["name", "qty", "price", "data"])
        return [(f"UPDATE items SET {col} = ? WHERE id = ?", (val, i))]
    if op < 0.72:
        return [("DELETE FROM items WHERE id = ?", (i,))]
    if op < 0.84:
        return [("INSERT OR IGNORE INTO tags VALUES (?, ?)", (rng.choice("xy"), i % 3))]
    if op < 0.9:
        return [("DELETE FROM tags WHERE a = ? AND b = ?", (rng.choice("xy"), i % 3))]
    # Several statements in one transaction.
    return [("BEGIN", ()),
            ("INSERT OR REPLACE INTO anyv (k, j, v) VALUES (?, 0, ?)", (i, val)),
            ("UPDATE items SET qty = ? WHERE id = ?", (step, i)),
            ("DELETE FROM anyv WHERE k = ? AND j = 0", (i + 1,)),
            ("COMMIT", ())]


def random_history(rng, steps=300, nodes=3):
    """Actions: ("write", node, statements) or ("sync", src, dst)."""
    history = []
    for step in range(steps):
        if rng.random() < 0.6:
            history.append(("write", rng.randrange(nodes), random_writes(rng, step)))
        else:
            src, dst = rng.sample(range(nodes), 2)
            history.append(("sync", src, dst))
            if rng.random() < 0.2:
                history.append(("sync", src, dst))  # a repeat: nothing new
        if step % 60 == 59:
            x, y, z = rng.sample(range(nodes), 3)  # a chain of relays
            history += [("sync", x, y), ("sync", y, z)]
    return history


def run_history(peers, history, ctx=""):
    """Plays `history` on fresh peers, syncs everything, checks convergence."""
    net = Network()
    for action in history:
        if action[0] == "write":
            for sql, params in action[2]:
                peers[action[1]].exec(sql, params)
        else:
            net.sync(peers[action[1]], peers[action[2]])
    net.sync_all(peers, rounds=3)
    assert_converged(peers, ctx)
    # A fresh loop from zero changes nothing either.
    Network().sync_all(peers, rounds=1)
    assert_converged(peers, ctx)


def shrink_history(make_three, history, budget=40):
    """A smaller history that still fails (chunks left out while it keeps
    failing; at most `budget` replays)."""
    def fails(h):
        peers = make_three()
        try:
            run_history(peers, h)
            return False
        except Exception:  # any failure counts, as in the original run
            return True
        finally:
            for p in peers:
                p.close()

    chunk = len(history) // 2
    while chunk >= 1 and budget > 0:
        i, shrunk = 0, False
        while i < len(history) and budget > 0:
            candidate = history[:i] + history[i + chunk:]
            budget -= 1
            if fails(candidate):
                history, shrunk = candidate, True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    return history


def format_history(history):
    names = "ABC"
    lines = []
    for action in history:
        if action[0] == "sync":
            lines.append(f"sync {names[action[1]]} -> {names[action[2]]}")
        else:
            lines.append(f"{names[action[1]]}: " +
                         "; ".join(f"{sql} {list(params)}" if params else sql
                                   for sql, params in action[2]))
    return "\n".join(lines)


def seeds():
    if os.environ.get("CRLOG_PEER_SEED"):
        return [int(os.environ["CRLOG_PEER_SEED"])]
    return [random.SystemRandom().randrange(2**32) for _ in range(3)]


@pytest.mark.parametrize("seed", seeds())
def test_three_node_network(make_peer, seed):
    """crlog A, crlog B and cr-sqlite C: random writes everywhere, syncs in
    random order with repeats and relays, then all three are identical."""
    print(f"seed {seed} (replay: CRLOG_PEER_SEED={seed})")
    rng = random.Random(seed)
    replays = iter(range(1, 10**6))

    def make_three(suffix=""):
        suffix = suffix or f"_{next(replays)}"
        return [make_peer("crlog", "A" + suffix), make_peer("crlog", "B" + suffix),
                make_peer("crsqlite", "C" + suffix)]

    a, b, c = peers = make_three("_0")
    net = Network()
    ctx = f"seed {seed}: "

    # A relay first: A's write reaches B only through cr-sqlite.
    a.exec("INSERT INTO items (id, name) VALUES (100, 'relayed')")
    net.sync(a, c)
    net.sync(c, b)
    assert b.query("SELECT name FROM items WHERE id = 100") == [("relayed",)], ctx
    relayed = [ch for ch in b.changes_since(0, None) if ch[1] == pk(b, 100)]
    assert relayed and {ch[6] for ch in relayed} == {a.site_id()}, \
        ctx + "relayed changes keep their origin site"
    net.sync_all(peers)
    for p in peers:
        p.exec("DELETE FROM items WHERE id = 100")

    history = random_history(rng)
    try:
        run_history(peers, history, ctx)
    except Exception:
        for p in peers:
            p.close()
        small = shrink_history(make_three, history)
        print(f"seed {seed}: a failing history of {len(small)} of "
              f"{len(history)} steps (each on fresh replicas A, B crlog, "
              f"C cr-sqlite, then everything synced):\n{format_history(small)}")
        raise


# ---------------------------------------------------------------- crlog side

def test_crlog_db_version_after_merge(make_peer):
    crlog = make_peer("crlog", "crlog")
    cr = make_peer("crsqlite", "cr")
    net = Network()
    crlog.exec("INSERT INTO items (id, name) VALUES (1, 'local')")
    for i in range(20):
        cr.exec("INSERT OR REPLACE INTO items (id, name, qty) VALUES (?, 'cr', ?)",
                (10 + i % 3, i))
    incoming = cr.changes_since(0, crlog.site_id())
    top = max(c[5] for c in incoming)
    assert top >= 20
    before = crlog.db_version()
    net.sync(cr, crlog)
    after = crlog.db_version()
    assert after >= top, (before, after, top)
    merged = [c for c in crlog.changes_since(before, None) if c[6] == cr.site_id()]
    assert merged, "the merged cells are visible above the old db_version"
    versions = {c[5] for c in merged}
    assert len(versions) == 1, f"one merge transaction, one db_version: {versions}"
    (d,) = versions
    assert d >= max(before + 1, incoming[0][5])
    # The next local commit is above everything seen.
    crlog.exec("UPDATE items SET qty = 1 WHERE id = 1")
    assert cell(crlog, "items", pk(crlog, 1), "qty") is not None
    local = [c for c in crlog.changes_since(after, None) if c[2] == "qty" and c[1] == pk(crlog, 1)]
    assert local and local[0][5] > top
    assert crlog.db_version() > top
    net.sync(crlog, cr)
    assert_converged([crlog, cr])


def merge_counting(p, changes):
    p.exec("BEGIN")
    p.executemany(APPLY_SQL, changes)
    n = p.scalar("SELECT crsql_rows_impacted()")
    p.exec("COMMIT")
    return n


def test_resend_has_no_second_effect(make_peer):
    crlog = make_peer("crlog", "crlog")
    cr = make_peer("crsqlite", "cr")
    cr.exec("INSERT INTO items VALUES (1, 'a', 1, 1.5, X'01'), (2, 'b', 2, NULL, NULL)")
    cr.exec("INSERT INTO tags VALUES ('t', 1)")
    cr.exec("DELETE FROM items WHERE id = 2")
    batch = cr.changes_since(0, crlog.site_id())

    events = crlog.scalar("SELECT count(*) FROM crlog_events")
    first = merge_counting(crlog, batch)
    assert first > 0
    assert crlog.scalar("SELECT crsql_rows_impacted()") == 0, "0 outside a transaction"
    events_after_first = crlog.scalar("SELECT count(*) FROM crlog_events")
    assert events_after_first == events + 1
    assert crlog.query("SELECT kind FROM crlog_events ORDER BY position DESC LIMIT 1") == [("import",)]
    state = (table_rows(crlog, "items"), cells(crlog), crlog.db_version())

    assert merge_counting(crlog, batch) == 0
    assert crlog.scalar("SELECT count(*) FROM crlog_events") == events_after_first
    assert (table_rows(crlog, "items"), cells(crlog), crlog.db_version()) == state
    assert_converged([crlog, cr])

    # cr-sqlite agrees: the same batch again impacts nothing.
    cr2 = make_peer("crsqlite", "cr2")
    assert merge_counting(cr2, batch) == first
    assert merge_counting(cr2, batch) == 0


# ---------------------------------------------------------------- schema skew

def add_column(p):
    p.exec("SELECT crsql_begin_alter('items')")
    p.exec("ALTER TABLE items ADD COLUMN extra TEXT")
    p.exec("SELECT crsql_commit_alter('items')")


@pytest.mark.parametrize("sender_kind", ["crsqlite", "crlog"])
def test_crsqlite_rejects_unknown_column(make_peer, sender_kind):
    """Observed on cr-sqlite 0.16 (npm @vlcn.io/crsqlite-wasm 0.16.0): a
    change for a column the table lacks fails that INSERT with the bare
    'SQL logic error' (SQLITE_ERROR, no message of its own); the other
    changes of the transaction stand and COMMIT succeeds. The sync loop's
    whole batch therefore fails until the receiver adds the column."""
    sender = make_peer(sender_kind, "sender")
    cr = make_peer("crsqlite", "cr")
    net = Network()
    sender.exec("INSERT INTO items (id, name) VALUES (1, 'a')")
    net.sync(sender, cr)
    add_column(sender)
    sender.exec("UPDATE items SET name = 'b', extra = 'new' WHERE id = 1")
    batch = sender.changes_since(net.last[("sender", "cr")], cr.site_id())
    assert sorted(c[2] for c in batch) == ["extra", "name"]
    known = [c for c in batch if c[2] == "name"]
    unknown = [c for c in batch if c[2] == "extra"]

    cr.exec("BEGIN")
    cr.exec(APPLY_SQL, known[0])
    with pytest.raises(PeerError) as err:
        cr.exec(APPLY_SQL, unknown[0])
    assert str(err.value) == "SQL logic error"
    assert cr.scalar("SELECT crsql_rows_impacted()") == 1
    cr.exec("COMMIT")
    assert cr.query("SELECT name FROM items WHERE id = 1") == [("b",)]

    # The app's loop: the batch fails as a whole, every time.
    with pytest.raises(PeerError, match="SQL logic error"):
        net.sync(sender, cr)
    with pytest.raises(PeerError, match="SQL logic error"):
        net.sync(sender, cr)
    # Once cr-sqlite has the column too, the same batch goes through.
    add_column(cr)
    net.sync(sender, cr)
    assert cr.query("SELECT name, extra FROM items WHERE id = 1") == [("b", "new")]


def test_crlog_keeps_unknown_column_until_altered(make_peer):
    """crlog's documented difference: a change for a column it does not have
    yet is kept (crlog_stash) and applied by crsql_commit_alter."""
    cr = make_peer("crsqlite", "cr")
    crlog = make_peer("crlog", "crlog")
    net = Network()
    cr.exec("INSERT INTO items (id, name) VALUES (1, 'a')")
    net.sync(cr, crlog)
    add_column(cr)
    cr.exec("UPDATE items SET name = 'b', extra = 'new' WHERE id = 1")
    net.sync(cr, crlog)  # no error
    assert crlog.query("SELECT name FROM items WHERE id = 1") == [("b",)]
    add_column(crlog)
    assert crlog.query("SELECT name, extra FROM items WHERE id = 1") == [("b", "new")]
    assert cells(crlog) == cells(cr)
