"""Two kinds of replica behind one interface, so a sync loop is written once.

CrsqlitePeer runs the real cr-sqlite 0.16 (its WebAssembly build, under Node)
in a child process, crsqlite_peer.mjs, one in-memory database per process.
CrlogPeer is Python's sqlite3 with crlog's crsqlite.so loaded (the path comes
from the CRLOG_EXTENSION environment variable).

Both give:
  exec(sql, params=())        run one or more statements, return all rows
  query(sql, params=())       the same, for reading
  executemany(sql, seq)       one statement, once per parameter tuple
  site_id()                   crsql_site_id()
  db_version()                crsql_db_version()
  changes_since(last, exclude_site)
  apply(changes)              BEGIN; INSERT INTO crsql_changes ...; COMMIT
  close()
and sync(src, dst, last) runs the app's loop between two of them until dry.
Values are Python's: int, float, str, bytes, None.
"""

import json
import os
import pathlib
import shutil
import sqlite3
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
PEER_SCRIPT = HERE / "crsqlite_peer.mjs"
NODE_MODULES = HERE / "node_modules" / "@vlcn.io" / "crsqlite-wasm"

CHANGES_SINCE_SQL = (
    'SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq '
    "FROM crsql_changes WHERE db_version > ? AND site_id IS NOT ?")
APPLY_SQL = (
    'INSERT INTO crsql_changes ("table", pk, cid, val, col_version, '
    "db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


class PeerError(Exception):
    """An SQL error reported by a peer (the message is SQLite's)."""


def peer_setup_problem():
    """Returns why CrsqlitePeer cannot start, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed: run scripts/setup.sh"
    if not NODE_MODULES.is_dir():
        return ("tests/peer/node_modules is missing (cr-sqlite's npm package): "
                "run scripts/setup.sh")
    return None


def sync(src, dst, last=0):
    """The app's loop: src's changes above `last` that dst did not write,
    merged in one transaction, until src has nothing new. Returns the last
    db_version taken from src."""
    for _ in range(20):
        changes = src.changes_since(last, dst.site_id())
        if not changes:
            return last
        dst.apply(changes)
        last = max(last, max(c[5] for c in changes))
    raise AssertionError(f"sync {src.name} -> {dst.name} never ran dry")


def _encode(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return {"$int": str(int(value))}
    if isinstance(value, int):
        return {"$int": str(value)}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"$real": repr(value).replace("inf", "Infinity")
                    .replace("nan", "NaN")}
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$blob": bytes(value).hex()}
    raise TypeError(f"cannot send {value!r} to the cr-sqlite peer")


def _decode_object(obj):
    if len(obj) == 1 and "$blob" in obj:
        return bytes.fromhex(obj["$blob"])
    return obj


class _Peer:
    """The parts both kinds share; subclasses give exec and executemany."""

    def query(self, sql, params=()):
        return self.exec(sql, params)

    def scalar(self, sql, params=()):
        rows = self.exec(sql, params)
        if len(rows) != 1 or len(rows[0]) != 1:
            raise AssertionError(f"{sql!r} returned {rows!r}, not one value")
        return rows[0][0]

    def site_id(self):
        return self.scalar("SELECT crsql_site_id()")

    def db_version(self):
        return self.scalar("SELECT crsql_db_version()")

    def changes_since(self, last, exclude_site):
        return self.exec(CHANGES_SINCE_SQL, (last, exclude_site))

    def apply(self, changes):
        """Merges `changes` in one transaction; rolls back and raises on error."""
        self.exec("BEGIN")
        try:
            if changes:
                self.executemany(APPLY_SQL, changes)
            self.exec("COMMIT")
        except Exception:
            try:
                self.exec("ROLLBACK")
            except PeerError:
                pass  # a failed COMMIT may have rolled back already
            except sqlite3.Error:
                pass
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CrsqlitePeer(_Peer):
    """The real cr-sqlite 0.16 in a Node child process."""

    kind = "cr-sqlite"

    def __init__(self, name="crsqlite"):
        problem = peer_setup_problem()
        if problem:
            raise RuntimeError(problem)
        self.name = name
        # The sanitizer runtimes preloaded for crsqlite.so are not Node's.
        env = {k: v for k, v in os.environ.items()
               if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
        # --liftoff-only: V8's baseline wasm compiler alone. Tiering SQLite's
        # big functions up to TurboFan costs far more CPU than a test's few
        # thousand statements win back (measured: 200 inserts 1.5 s -> 0.1 s).
        self._proc = subprocess.Popen(
            ["node", "--liftoff-only", str(PEER_SCRIPT)], cwd=str(HERE), env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            encoding="utf-8", bufsize=1)

    def _call(self, request):
        line = json.dumps(request, ensure_ascii=False, allow_nan=False)
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        reply = self._proc.stdout.readline()
        if not reply:
            code = self._proc.wait()
            raise RuntimeError(f"cr-sqlite peer {self.name} exited ({code}) "
                               f"during {request.get('sql')!r}")
        response = json.loads(reply, object_hook=_decode_object)
        if "error" in response:
            raise PeerError(response["error"])
        return [tuple(row) for row in response["rows"]]

    def exec(self, sql, params=()):
        return self._call({"sql": sql,
                           "params": [_encode(p) for p in params]})

    def executemany(self, sql, seq):
        return self._call({"sql": sql,
                           "many": [[_encode(p) for p in params]
                                    for params in seq]})

    def close(self):
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        proc.stdin.close()
        try:
            code = proc.wait(timeout=30)
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            raise RuntimeError(f"cr-sqlite peer {self.name} exited with {code}")


class CrlogPeer(_Peer):
    """Python's sqlite3 with crlog's crsqlite.so loaded."""

    kind = "crlog"

    def __init__(self, path, name="crlog", extension=None, synchronous="OFF"):
        extension = extension or os.environ.get("CRLOG_EXTENSION")
        if not extension:
            raise RuntimeError("CRLOG_EXTENSION is not set (path of crsqlite.so)")
        self.name = name
        self.path = str(path)
        # Autocommit mode: BEGIN and COMMIT are ours to say.
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.enable_load_extension(True)
        self.conn.load_extension(extension)
        self.conn.enable_load_extension(False)
        # These tests are about what merges, not about durability (tests/crash
        # is): without fsyncs a write costs microseconds instead of ~20 ms.
        self.conn.execute(f"PRAGMA synchronous={synchronous}")

    def exec(self, sql, params=()):
        try:
            if params:
                return [tuple(r) for r in self.conn.execute(sql, params).fetchall()]
            # Possibly several statements, no parameters.
            rows = []
            cur = self.conn.cursor()
            for stmt in _split_statements(sql):
                rows.extend(tuple(r) for r in cur.execute(stmt).fetchall())
            return rows
        except sqlite3.Error as e:
            raise PeerError(str(e)) from e

    def executemany(self, sql, seq):
        try:
            self.conn.executemany(sql, seq)
        except sqlite3.Error as e:
            raise PeerError(str(e)) from e
        return []

    def close(self):
        if self.conn is None:
            return
        conn, self.conn = self.conn, None
        try:
            conn.execute("SELECT crsql_finalize()")
        finally:
            conn.close()


def _split_statements(sql):
    """Splits SQL text into complete statements (sqlite3.complete_statement)."""
    out, current = [], ""
    for piece in sql.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                out.append(current)
            current = ""
    if current.strip(" \n\t;"):
        out.append(current)
    return out
