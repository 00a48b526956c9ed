// Replay proves itself against history as it happened: three replicas
// (database files with the built crsqlite.so loaded) write a seeded random
// history on two tables (one with a composite pk), sync in random orders by
// both paths (crlog_export/crlog_apply and the crsql_changes loop), and each
// alters a table once, mid-history. After every step the replica that
// changed records its tables. At the end every recorded moment is replayed
// from the log (engine/history/replay.h) and must give exactly those tables:
//  - at the replica's new event, named by id, by a prefix and as site:seq;
//  - at the heads it had then;
//  - at the time it had stored its newest event (a time point: what it had
//    received by then);
//  - from every other replica's log that received the event;
// and every replica replayed at head gives its final tables.
//
// Environment: CRLOG_SEED (first seed; alone, runs just that seed),
// CRLOG_ROUNDS (number of seeds, default 3; 1 under sanitizers), CRLOG_STEPS
// (steps per seed, default 60).
#include <sqlite3.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "gtest/gtest.h"
#include "log/hash.h"
#include "crlog/value.h"
#include "tests/capture/capture_test_util.h"
#include "tests/history/history_test_util.h"
#include "tests/merge_sql/merge_sql_util.h"
#include "tests/support/seeds.h"

namespace crlog::history_test {
namespace {

using capture_test::Db;
using capture_test::TempDir;
using merge_sql_test::Query;
using merge_sql_test::SyncCursor;

constexpr int kReplicas = 3;
constexpr const char* kNames[kReplicas] = {"A", "B", "C"};

constexpr char kSchema[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b, c);"
    "CREATE TABLE tags(x NOT NULL, y NOT NULL, n, PRIMARY KEY (x, y));"
    "SELECT crsql_as_crr('t');"
    "SELECT crsql_as_crr('tags');";
// Each replica runs the same migration once, at a step of its own.
constexpr char kAlter[] =
    "SELECT crsql_begin_alter('t'); ALTER TABLE t ADD COLUMN d DEFAULT 'dflt'; SELECT crsql_commit_alter('t');";

// About 2 s a seed in a release build; sanitizers make it several times
// slower.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int64_t kDefaultRounds = 1;
#else
constexpr int64_t kDefaultRounds = 3;
#endif

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoll(v, nullptr, 10);
}

// A moment of one replica's history.
struct Record {
  int replica = 0;
  std::string what;  // the step, for messages
  // The replica's own new event when the step made one and it is now the
  // only head: the tables are then exactly that event's past.
  std::optional<log::Hash> event;
  std::vector<log::Hash> heads;
  uint64_t newest_position = 0;  // the log's newest published position
  Snapshot tables;
};

class History {
 public:
  explicit History(uint64_t seed) : seed_(seed), rng_(seed) {}

  // Runs `steps` steps; false (with a test failure) when one failed.
  bool Run(int steps);
  // Replays every record; returns a report of mismatches ("" when none).
  std::string Check();

  int checked_events() const { return checked_events_; }
  int checked_times() const { return checked_times_; }
  int checked_cross() const { return checked_cross_; }

 private:
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string RandomLiteral();
  std::string RandomTagX() { return std::vector<std::string>{"1", "2", "'p'"}[Pick(0, 2)]; }
  std::string RandomTagY() { return std::vector<std::string>{"'a'", "X'62'"}[Pick(0, 1)]; }
  std::string RandomStatement(int r);
  bool Exec(int r, const std::string& sql);
  // Records replica `r` after `what`.
  bool Snap(int r, const std::string& what);
  std::string Path(int r) const { return dir_.File(absl::StrCat(kNames[r], ".db")); }

  uint64_t seed_;
  std::mt19937_64 rng_;
  TempDir dir_;
  std::unique_ptr<Db> db_[kReplicas];
  bool altered_[kReplicas] = {false, false, false};
  int alter_at_[kReplicas] = {0, 0, 0};
  SyncCursor cursor_[kReplicas][kReplicas];
  std::optional<log::Hash> watermark_[kReplicas];
  std::vector<Record> records_;
  Snapshot final_[kReplicas];
  std::vector<std::string> trace_;
  int checked_events_ = 0, checked_times_ = 0, checked_cross_ = 0;
};

std::string History::RandomLiteral() {
  static const std::vector<std::string> kPool = {"0",   "1",    "2",   "-3",  "0.5", "-1.5",   "2.25", "''",
                                                 "'a'", "'b'",  "'ab'", "X''", "X'61'", "X'ff'", "NULL", "NULL"};
  return kPool[Pick(0, static_cast<int>(kPool.size()) - 1)];
}

std::string History::RandomStatement(int r) {
  int id = Pick(1, 6);
  std::string v = RandomLiteral(), w = RandomLiteral(), u = RandomLiteral();
  switch (Pick(0, altered_[r] ? 11 : 9)) {
    case 0: return absl::StrCat("INSERT OR REPLACE INTO t(id, a, b, c) VALUES (", id, ", ", v, ", ", w, ", ", u, ")");
    case 1: return absl::StrCat("INSERT OR IGNORE INTO t(id, a, b) VALUES (", id, ", ", v, ", ", w, ")");
    case 2: return absl::StrCat("UPDATE t SET a = ", v, " WHERE id = ", id);
    case 3: return absl::StrCat("UPDATE t SET b = ", v, ", c = ", w, " WHERE id = ", id);
    case 4: return absl::StrCat("DELETE FROM t WHERE id = ", id);
    case 5: return absl::StrCat("UPDATE OR IGNORE t SET id = ", Pick(1, 6), " WHERE id = ", id);
    case 6:
      return absl::StrCat("INSERT OR REPLACE INTO tags(x, y, n) VALUES (", RandomTagX(), ", ", RandomTagY(), ", ", v,
                          ")");
    case 7:
      return absl::StrCat("UPDATE tags SET n = ", v, " WHERE x = ", RandomTagX(), " AND y = ", RandomTagY());
    case 8: return absl::StrCat("DELETE FROM tags WHERE x = ", RandomTagX(), " AND y = ", RandomTagY());
    case 9: return absl::StrCat("INSERT OR IGNORE INTO tags(x, y) VALUES (", RandomTagX(), ", ", RandomTagY(), ")");
    case 10: return absl::StrCat("UPDATE t SET d = ", v, " WHERE id = ", id);
    default:
      return absl::StrCat("INSERT OR REPLACE INTO t(id, a, d) VALUES (", id, ", ", v, ", ", w, ")");
  }
}

bool History::Exec(int r, const std::string& sql) {
  std::string err = db_[r]->Try(sql);
  if (err.empty()) return true;
  ADD_FAILURE() << "seed " << seed_ << ": " << kNames[r] << ": `" << sql << "` failed: " << err;
  return false;
}

bool History::Snap(int r, const std::string& what) {
  Record rec;
  rec.replica = r;
  rec.what = absl::StrCat(kNames[r], " after step ", trace_.size(), ": ", what);
  sqlite3* db = db_[r]->get();
  auto tables = ReplicaSnapshot(db);
  if (!tables.ok()) {
    ADD_FAILURE() << "seed " << seed_ << ": reading the tables of " << kNames[r] << ": " << tables.status();
    return false;
  }
  rec.tables = *std::move(tables);
  for (const auto& row : Query(*db_[r], "SELECT hash FROM crlog_heads ORDER BY hash")) {
    rec.heads.push_back(log::ToArray<32>(row[0].bytes));
  }
  auto newest = Query(*db_[r], "SELECT max(position) FROM crlog_events");
  rec.newest_position = newest.empty() ? 0 : static_cast<uint64_t>(newest[0][0].integer);
  auto mark = Query(*db_[r], "SELECT hash FROM crlog_watermark WHERE hash IS NOT NULL");
  std::optional<log::Hash> now;
  if (!mark.empty()) now = log::ToArray<32>(mark[0][0].bytes);
  if (now && now != watermark_[r] && rec.heads.size() == 1 && rec.heads[0] == *now) rec.event = now;
  watermark_[r] = now;
  records_.push_back(std::move(rec));
  return true;
}

bool History::Run(int steps) {
  for (int r = 0; r < kReplicas; ++r) {
    db_[r] = merge_sql_test::OpenReplica(Path(r));
    if (!db_[r]->loaded()) {
      ADD_FAILURE() << "loading the extension: " << db_[r]->load_error();
      return false;
    }
    if (!Exec(r, kSchema)) return false;
    alter_at_[r] = Pick(steps / 4, 3 * steps / 4);
    if (!Snap(r, "schema")) return false;
  }
  for (int step = 0; step < steps; ++step) {
    int a = Pick(0, kReplicas - 1);
    int b = (a + Pick(1, kReplicas - 1)) % kReplicas;
    int kind = Pick(0, 99);
    // The replica whose turn it is to migrate does so first.
    for (int r = 0; r < kReplicas; ++r) {
      if (!altered_[r] && step >= alter_at_[r]) {
        trace_.push_back(absl::StrCat(kNames[r], ": ", kAlter));
        if (!Exec(r, kAlter)) return false;
        altered_[r] = true;
        if (!Snap(r, "alter")) return false;
      }
    }
    if (kind < 50) {
      std::vector<std::string> stmts;
      int n = Pick(0, 9) < 7 ? 1 : Pick(2, 3);
      for (int i = 0; i < n; ++i) stmts.push_back(RandomStatement(a));
      std::string sql = n == 1 ? stmts[0] : absl::StrCat("BEGIN; ", absl::StrJoin(stmts, "; "), "; COMMIT");
      trace_.push_back(absl::StrCat(kNames[a], ": ", sql));
      if (!Exec(a, sql)) return false;
      if (!Snap(a, sql)) return false;
    } else if (kind < 75) {
      trace_.push_back(absl::StrCat("crlog_apply(crlog_export()) ", kNames[a], " -> ", kNames[b]));
      auto bundle = Query(*db_[a], "SELECT crlog_export()");
      if (bundle.size() != 1) return false;
      std::string err = merge_sql_test::Execute(*db_[b], "SELECT crlog_apply(?)", {bundle[0][0]});
      if (!err.empty()) {
        ADD_FAILURE() << "seed " << seed_ << ": crlog_apply " << kNames[a] << " -> " << kNames[b] << ": " << err;
        return false;
      }
      if (!Snap(b, trace_.back())) return false;
    } else {
      trace_.push_back(absl::StrCat("crsql_changes ", kNames[a], " -> ", kNames[b]));
      std::string err = merge_sql_test::SyncOnce(*db_[a], *db_[b], &cursor_[a][b]);
      if (!err.empty()) {
        ADD_FAILURE() << "seed " << seed_ << ": crsql_changes " << kNames[a] << " -> " << kNames[b] << ": " << err;
        return false;
      }
      if (!Snap(b, trace_.back())) return false;
    }
  }
  for (int r = 0; r < kReplicas; ++r) {
    auto tables = ReplicaSnapshot(db_[r]->get());
    if (!tables.ok()) return false;
    final_[r] = *std::move(tables);
    // The log is the extension's while a connection holds it.
    db_[r].reset();
  }
  return true;
}

std::string FormatMicros(int64_t micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

std::string History::Check() {
  std::string report;
  ReplicaLog logs[kReplicas];
  for (int r = 0; r < kReplicas; ++r) {
    auto opened = OpenReplicaLog(Path(r));
    if (!opened.ok()) return absl::StrCat("opening the log of ", kNames[r], ": ", opened.status().ToString());
    logs[r] = *std::move(opened);
  }
  int failures = 0;
  auto expect = [&](const std::string& what, const absl::StatusOr<Snapshot>& got, const Snapshot& want) {
    std::string diff =
        got.ok() ? DiffSnapshots(*got, want) : absl::StrCat("  replay failed: ", got.status().ToString(), "\n");
    if (diff.empty() || ++failures > 8) return;
    absl::StrAppend(&report, what, ":\n", diff);
  };
  auto resolve = [&](int r, const std::string& text) -> absl::StatusOr<engine::Point> {
    return engine::ResolvePoint(*logs[r].store, logs[r].site, logs[r].heads, text);
  };

  for (int r = 0; r < kReplicas; ++r) {
    auto head = resolve(r, "head");
    if (!head.ok()) return absl::StrCat("resolving head of ", kNames[r], ": ", head.status().ToString());
    expect(absl::StrCat(kNames[r], " replayed at head differs from its final tables"),
           ReplaySnapshot(*logs[r].store, *head, logs[r].site), final_[r]);
  }

  // The last record of each replica at each newest position: what it held
  // when its log ended there.
  std::map<std::pair<int, uint64_t>, const Record*> by_position;
  for (const Record& rec : records_) by_position[{rec.replica, rec.newest_position}] = &rec;

  for (const Record& rec : records_) {
    const int r = rec.replica;
    const ReplicaLog& own = logs[r];
    // The heads it had.
    engine::Point heads;
    heads.text = "heads";
    heads.heads = rec.heads;
    heads.schema_site = own.site;
    expect(absl::StrCat("replay at the heads of ", rec.what), ReplaySnapshot(*own.store, heads, own.site),
           rec.tables);

    if (rec.event) {
      ++checked_events_;
      const std::string hex = log::ToHex(*rec.event);
      auto stored = own.store->Get(*rec.event);
      auto decoded = stored.ok() ? stored->Decode() : absl::StatusOr<log::Event>(stored.status());
      if (!decoded.ok()) {
        absl::StrAppend(&report, rec.what, ": its event ", hex, " is unreadable: ", decoded.status().ToString(), "\n");
        continue;
      }
      const std::string site_seq = absl::StrCat(log::ToHex(decoded->site), ":", decoded->seq);
      for (const std::string& text : {hex, log::ShortHex(*rec.event), site_seq}) {
        auto point = resolve(r, text);
        if (!point.ok()) {
          absl::StrAppend(&report, rec.what, ": resolving '", text, "': ", point.status().ToString(), "\n");
          continue;
        }
        if (point->heads != std::vector<log::Hash>{*rec.event} || point->up_to_position ||
            point->schema_site != own.site) {
          absl::StrAppend(&report, rec.what, ": '", text, "' resolved to another point\n");
          continue;
        }
        expect(absl::StrCat("replay of ", kNames[r], "'s log at '", text, "' (", rec.what, ")"),
               ReplaySnapshot(*own.store, *point, own.site), rec.tables);
      }
      // The same event in another replica's log: the same past, so the
      // same tables, in the writer's schema.
      for (int q = 0; q < kReplicas; ++q) {
        if (q == r) continue;
        auto has = logs[q].store->Contains(*rec.event);
        if (!has.ok() || !*has) continue;
        ++checked_cross_;
        auto point = resolve(q, hex);
        if (!point.ok()) {
          absl::StrAppend(&report, "resolving ", hex, " in ", kNames[q], ": ", point.status().ToString(), "\n");
          continue;
        }
        if (point->schema_site != own.site) {
          absl::StrAppend(&report, hex, " resolved in ", kNames[q], " does not follow its writer's schema\n");
        }
        expect(absl::StrCat("replay of ", kNames[q], "'s log at ", kNames[r], "'s event ", log::ShortHex(*rec.event),
                            " (", rec.what, ")"),
               ReplaySnapshot(*logs[q].store, *point, logs[q].site), rec.tables);
      }
    }

    // A time point: what the replica had stored when its newest event
    // arrived. Arrival times never go back, so that time names this
    // position unless the next event arrived in the same microsecond.
    auto arrived = own.store->ArrivalMicros(rec.newest_position);
    if (!arrived.ok() || !arrived->has_value()) {
      absl::StrAppend(&report, rec.what, ": no arrival time for position ", rec.newest_position, "\n");
      continue;
    }
    const std::string text = FormatMicros(**arrived);
    auto point = resolve(r, text);
    if (!point.ok()) {
      absl::StrAppend(&report, rec.what, ": resolving the time '", text, "': ", point.status().ToString(), "\n");
      continue;
    }
    if (!point->up_to_position || *point->up_to_position < rec.newest_position) {
      absl::StrAppend(&report, rec.what, ": the time '", text, "' resolved to position ",
                      point->up_to_position.value_or(0), ", before ", rec.newest_position, "\n");
      continue;
    }
    auto at = by_position.find({r, *point->up_to_position});
    if (at == by_position.end()) continue;  // the next step's event arrived in the same microsecond
    ++checked_times_;
    expect(absl::StrCat("replay of ", kNames[r], " at the time '", text, "' (", at->second->what, ")"),
           ReplaySnapshot(*own.store, *point, own.site), at->second->tables);
  }
  if (failures > 8) absl::StrAppend(&report, "... and ", failures - 8, " more mismatches\n");
  if (!report.empty()) report = absl::StrCat(report, "history:\n  ", absl::StrJoin(trace_, "\n  "), "\n");
  return report;
}

TEST(ReplayHistoryTest, ReplayAtEveryEventEqualsTheStateTheHistoryHadThen) {
  const test_support::Seeds seeds(
      {"CRLOG_SEED", "CRLOG_ROUNDS", test_support::SeedEnv::FirstAlone::kRunsOneUnlessCounted}, 1, kDefaultRounds);
  const auto rounds = static_cast<int64_t>(seeds.size());
  int steps = static_cast<int>(EnvInt("CRLOG_STEPS", 60));
  int events = 0, times = 0, cross = 0;
  for (uint64_t seed : seeds) {
    History history(seed);
    if (!history.Run(steps)) {
      ADD_FAILURE() << "seed " << seed << " (rerun: CRLOG_SEED=" << seed << ") could not run its history";
      continue;
    }
    std::string report = history.Check();
    if (!report.empty()) ADD_FAILURE() << "seed " << seed << " (rerun: CRLOG_SEED=" << seed << "):\n" << report;
    events += history.checked_events();
    times += history.checked_times();
    cross += history.checked_cross();
  }
  // The history must have exercised what it claims to.
  EXPECT_GT(events, 10 * rounds) << "too few event points were checked";
  EXPECT_GT(times, 10 * rounds) << "too few time points were checked";
  EXPECT_GT(cross, 5 * rounds) << "too few events were checked from another replica's log";
  std::cout << "checked " << events << " event points, " << times << " time points and " << cross
            << " events from another replica's log over " << rounds << " seeds\n";
}

}  // namespace
}  // namespace crlog::history_test
