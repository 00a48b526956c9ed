#!/usr/bin/env python3
"""Prints issue 14's speed table from Google Benchmark JSON reports.

Usage: scripts/bench_table.py REPORT.json [REPORT.json ...]

Give it every report of every run (scripts/bench.sh does). Each benchmark
is read from its quietest run: the one with the least machine load when it
ran, ties broken by the shortest time, so a noisy neighbour in one run does
not make a row look worse (or, through a slower baseline, better) than it
is. Every ratio is crlog beside its baseline measured in the same run; the
floor is the capture floor probe (a trigger handing each row to a virtual
table that only copies it) or the bare LMDB write of the same bytes.
"""
import json
import sys


def load(paths):
    """benchmark name -> list of (load, real_time, entry)."""
    runs = {}
    for path in paths:
        try:
            with open(path) as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"bench_table: cannot read '{path}': {e}")
        load_avg = report.get("context", {}).get("load_avg") or [0.0]
        for b in report.get("benchmarks", []):
            if b.get("run_type") == "aggregate" or "error_occurred" in b:
                continue
            runs.setdefault(b["name"], []).append((load_avg[0], b.get("real_time", 0.0), b))
    return {name: min(entries, key=lambda e: (e[0], e[1])) for name, entries in runs.items()}


def find(best, prefix):
    for name, picked in best.items():
        if name.startswith(prefix):
            return picked
    return None


def num(x, digits=2):
    if x is None:
        return "-"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.{digits}f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:.{digits}f}"


# (measure, benchmark prefix, crlog, baseline, ratio, floor, goal, met)
# Each getter takes the benchmark's counters; goal is (text, predicate on the
# value the goal is about, which is ratio unless `on` names another getter).
def rows():
    c = lambda key: (lambda k: k.get(key))
    us = lambda key: (lambda k: k[key] / 1000 if key in k else None)
    floor_x = c("x_floor")
    out = []
    for mode, label in (("wal_normal", "WAL+NORMAL"), ("full", "FULL")):
        goals = mode == "wal_normal"
        out += [
            (f"INSERT 100,000 rows, one txn ({label}), ns/row", f"BM_Insert100k/{mode}/",
             c("ns_per_row"), c("base_ns_per_row"), c("x_baseline"), floor_x,
             ("<= 2.0x", lambda v: v <= 2.0) if goals else None),
            (f"UPDATE a column of every row ({label}), ns/row", f"BM_UpdateAll/{mode}/",
             c("ns_per_row"), c("base_ns_per_row"), c("x_baseline"), floor_x,
             ("<= 3.0x", lambda v: v <= 3.0) if goals else None),
            (f"1,000 txns of 100 rows ({label}), ns/row", f"BM_SmallTransactions/{mode}/",
             c("ns_per_row"), c("base_ns_per_row"), c("x_baseline"), floor_x,
             ("<= 2.0x", lambda v: v <= 2.0) if goals else None),
            (f"single-row autocommit INSERT ({label}), us/txn", f"BM_SingleRowAutocommit/{mode}/",
             us("ns_per_row"), us("base_ns_per_row"), c("x_baseline"), floor_x,
             ("<= 1.5x", lambda v: v <= 1.5) if goals else None),
            (f"SELECT 100,000 rows ({label}), ns/row (read side)", f"BM_Select100k/{mode}/",
             c("ns_per_row"), c("base_ns_per_row"), c("x_baseline"), None,
             ("about 1.0x", lambda v: v <= 1.1) if goals else None),
        ]
    out += [
        ("engine apply 100,000 rows x 3 cols, ns/row (beside changeset_apply)", "BM_ApplyEngine/100000/",
         c("ns_per_row"), c("base_ns_per_row"), c("x_baseline"), None, ("<= 1.5x", lambda v: v <= 1.5)),
        ("INSERT INTO crsql_changes, changes/s (ratio: x cr-sqlite 0.16)", "BM_InsertCrsqlChanges/100000/",
         c("changes_per_s"), None, c("x_crsqlite"), None, (">= 1,000,000/s", lambda v: v >= 1e6, 0)),
        ("database + log after insert + update, B/row (beside plain db)", "BM_UpdateAll/wal_normal/",
         lambda k: (k["db_B_per_row"] + k["log_B_per_row"]) if "db_B_per_row" in k else None,
         c("plain_db_B_per_row"), c("x_plain_size"), None, ("<= 2.0x", lambda v: v <= 2.0)),
        ("log append of 1-op events, batched, events/s (floor: bare LMDB + id index)",
         "BM_AppendBatched/ops_per_event:1/",
         c("events_per_s"), lambda k: 1e9 / k["base_idx_ns_per_op"] if "base_idx_ns_per_op" in k else None,
         c("x_base_idx"), None,
         (">= 400k/s", lambda v: v >= 4e5, 0)),
        ("log append of 10-op events, batched, ops/s", "BM_AppendBatched/ops_per_event:10/",
         c("ops_per_s"), c("base_ops_per_s"), c("x_baseline"), None, (">= 1,000,000 ops/s", lambda v: v >= 1e6, 0)),
        ("blame of a row in a 500,000-row txn, ms", "BM_BlameRowInHugeEvent",
         c("blame_ms"), None, None, None, ("< 10 ms", lambda v: v < 10, 0)),
        ("replay 1M ops into a file, peak SQLite memory MB", "BM_Replay/",
         c("replay_peak_mem_MB"), None, c("x_engine_merge"), None,
         ("O(batch); >= 1x merge", lambda v: v >= 1.0)),
    ]
    return out


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    best = load(argv[1:])
    header = ("measure", "crlog", "baseline", "ratio", "floor", "goal", "met", "load")
    table = [header]
    for measure, prefix, crlog, base, ratio, floor, goal in rows():
        picked = find(best, prefix)
        if picked is None:
            table.append((measure, "not run", "", "", "", goal[0] if goal else "", "", ""))
            continue
        load_avg, _, entry = picked
        k = {key: v for key, v in entry.items() if isinstance(v, (int, float))}
        values = [f(k) if f else None for f in (crlog, base, ratio, floor)]
        met = ""
        if goal:
            on = values[goal[2]] if len(goal) > 2 else values[2]
            met = "-" if on is None else ("yes" if goal[1](on) else "no")
        table.append((measure, num(values[0]), num(values[1]),
                      "-" if values[2] is None else f"{values[2]:.2f}x",
                      "-" if values[3] is None else f"{values[3]:.2f}x",
                      goal[0] if goal else "(no goal)", met, f"{load_avg:.2f}"))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(r, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\nratio: crlog's time over the baseline's, same run (crsql_changes: its rate over cr-sqlite 0.16's"
          " quoted rate; replay: merge time over replay time); floor: the floor probe's time over the same"
          " baseline; load: the 1-minute load when the run that was read began.")


if __name__ == "__main__":
    main(sys.argv)
