"""Fixtures shared by the tests of tests/peer/ (pytest loads this file).

make_peer('crlog'|'crsqlite', name) gives an empty replica: a crlog one in
tmp_path/<name>.db, or the real cr-sqlite 0.16 under Node. make_peer.reopen(p)
closes a crlog peer and opens a new connection to its file. Every peer made
is closed at the end, and a peer that fails to close fails the test.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peer import CrlogPeer, CrsqlitePeer, peer_setup_problem  # noqa: E402


def extension():
    """The crsqlite.so under test (CRLOG_EXTENSION), or the test fails."""
    path = os.environ.get("CRLOG_EXTENSION")
    if not path:
        pytest.fail("CRLOG_EXTENSION is not set (path of crlog's crsqlite.so)")
    return path


@pytest.fixture
def make_peer(tmp_path):
    made = []

    def make(kind, name):
        if kind == "crsqlite":
            problem = peer_setup_problem()
            if problem:
                pytest.fail(f"cannot run the real cr-sqlite: {problem}")
            p = CrsqlitePeer(name)
        else:
            p = CrlogPeer(tmp_path / f"{name}.db", name, extension=extension())
        made.append(p)
        return p

    def reopen(p):
        p.close()
        q = CrlogPeer(p.path, p.name, extension=extension())
        made.append(q)
        return q

    make.reopen = reopen
    yield make
    errors = []
    for p in made:
        try:
            p.close()
        except Exception as e:  # report every peer that failed to close
            errors.append(f"{p.name}: {e}")
    assert not errors, errors
