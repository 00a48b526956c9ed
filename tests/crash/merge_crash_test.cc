// Rule 3 of DESIGN.md for merges: a child (crlog_crash_merger,
// tests/crash/merge_writer.cc) merges a peer's changes into a replica and
// is killed, at crlog's named commit crash points or with SIGKILL at a
// seeded random moment; the database is then reopened with crlog (which
// recovers it) and must be exactly one of the states computed beforehand
// on copies of the same files: the replica before the merge, or the
// replica after the same merge run to its end without a crash (and, for
// crlog_apply inside a transaction, after the crlog_apply alone). Either
// the whole batch is in the tables and its import event is published, or
// none of it is and no import event exists. Afterwards `crlog verify`
// passes, nothing is left pending, crsql_changes agrees with the tables,
// and the replica takes a local write again.
//
// The peer is a second crlog replica (src.db) written by the crash
// workload (tests/crash/workload.h) plus a large insert; its changes go to
// the child as a plain SQLite file (app.db.batch, every row of its
// crsql_changes) and its log as an event bundle (app.db.bundle, from
// crlog_export()). The replica merging them has writes of its own to the
// same rows, so the merge takes and refuses changes and records conflicts.
//
// Four ways in:
// - merge: BEGIN; INSERT INTO crsql_changes ... (thousands of rows); COMMIT.
//   SQLite decides: the batch is there exactly when SQLite committed.
// - apply: SELECT crlog_apply(bundle). The events are stored pending and
//   published once SQLite committed their fold: the bundle is there exactly
//   when SQLite committed.
// - apply-mixed: BEGIN; SELECT crlog_apply(bundle); local writes; COMMIT.
//   The bundle's events stay pending until the transaction's COMMIT, so the
//   bundle and the local writes are there together or not at all (a
//   rolled-back apply is never rolled forward).
// - mixed: local writes inside the merging transaction. The import and the
//   local event are both published, or neither.
#include <sqlite3.h>
#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/replica/meta_tables.h"
#include "engine/history/verify_database.h"
#include "gtest/gtest.h"
#include "log/hash.h"
#include "tests/crash/harness.h"

namespace crlog::crash {
namespace {

const std::string kMerger = CRLOG_CRASH_MERGER;
const std::string kCli = CRLOG_BINARY;

// --- Reading values -------------------------------------------------------

std::string Render(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
      return "NULL";
    case SQLITE_INTEGER:
      return std::to_string(sqlite3_value_int64(v));
    case SQLITE_FLOAT: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.17gr", sqlite3_value_double(v));
      return buf;
    }
    case SQLITE_TEXT:
      return absl::StrCat("'",
                          std::string(reinterpret_cast<const char*>(sqlite3_value_text(v)),
                                      static_cast<size_t>(sqlite3_value_bytes(v))),
                          "'");
    default: {
      const auto* p = static_cast<const char*>(sqlite3_value_blob(v));
      return absl::StrCat("X'", log::ToHex(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(v)))), "'");
    }
  }
}

// Every row of `sql`, each a list of rendered values. Sets *error on failure.
std::vector<std::vector<std::string>> Query(sqlite3* db, const std::string& sql, std::string* error) {
  std::vector<std::vector<std::string>> rows;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<std::string>& row = rows.emplace_back();
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) row.push_back(Render(sqlite3_column_value(stmt, i)));
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_DONE && error->empty()) *error = absl::StrCat(sql, ": ", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  return rows;
}

std::string Join(const std::vector<std::string>& row) {
  std::string out;
  for (const std::string& v : row) absl::StrAppend(&out, out.empty() ? "" : "|", v);
  return out;
}

bool HasTable(sqlite3* db, const std::string& name) {
  std::string error;
  return !Query(db, absl::StrCat("SELECT 1 FROM sqlite_schema WHERE name = '", name, "'"), &error).empty();
}

// --- Snapshots of a replica ---------------------------------------------

// What a replica shows through crlog: its tables, crsql_changes, the
// events of its log, conflicts, stash and db_version.
struct Snapshot {
  std::map<std::string, std::vector<std::string>> tables;
  std::vector<std::string> changes;  // sorted
  std::vector<std::string> event_kinds;
  std::vector<std::string> event_hashes;
  std::vector<std::string> import_hashes;
  std::vector<std::string> conflicts;
  std::vector<std::string> stash;
  std::string db_version;
};

struct TableInfo {
  const char* name;
  const char* pk;                    // the pk columns, comma-separated
  std::vector<const char*> columns;  // the other columns
};

const std::vector<TableInfo>& Tables() {
  static const std::vector<TableInfo> tables = {
      {"txlog", "id", {"n"}},
      {"items", "id", {"a", "b", "c", "d"}},
      {"pairs", "k, j", {"v"}},
  };
  return tables;
}

// First difference between two snapshots, "" when equal. With
// `compare_local_hashes` false, the hashes of events other than imports are
// not compared (a local event carries its writer's clock).
std::string Diff(const Snapshot& a, const Snapshot& b, bool compare_local_hashes = true) {
  auto vec = [](const char* what, const std::vector<std::string>& x, const std::vector<std::string>& y) {
    if (x == y) return std::string();
    size_t i = 0;
    while (i < x.size() && i < y.size() && x[i] == y[i]) ++i;
    return absl::StrCat(what, " differ (", x.size(), " vs ", y.size(), " rows) at row ", i, ": ",
                        i < x.size() ? x[i] : "<none>", " vs ", i < y.size() ? y[i] : "<none>");
  };
  for (const TableInfo& t : Tables()) {
    auto ia = a.tables.find(t.name), ib = b.tables.find(t.name);
    static const std::vector<std::string> kNone;
    std::string d = vec(t.name, ia == a.tables.end() ? kNone : ia->second, ib == b.tables.end() ? kNone : ib->second);
    if (!d.empty()) return "table " + d;
  }
  for (const auto& [what, x, y] :
       std::vector<std::tuple<const char*, const std::vector<std::string>*, const std::vector<std::string>*>>{
           {"crsql_changes", &a.changes, &b.changes},
           {"event kinds", &a.event_kinds, &b.event_kinds},
           {"import events", &a.import_hashes, &b.import_hashes},
           {"crlog_conflicts", &a.conflicts, &b.conflicts},
           {"crlog_stash", &a.stash, &b.stash}}) {
    std::string d = vec(what, *x, *y);
    if (!d.empty()) return d;
  }
  if (compare_local_hashes) {
    std::string d = vec("event hashes", a.event_hashes, b.event_hashes);
    if (!d.empty()) return d;
  }
  if (a.db_version != b.db_version) return absl::StrCat("crsql_db_version ", a.db_version, " vs ", b.db_version);
  return "";
}

// crsql_changes and the tables agree: each live row of a table has entries
// in crsql_changes, all with the same odd causal length, and each of its
// reported cells holds the table's value; no row crsql_changes reports
// alive (odd cl) or dead (even cl) contradicts the table.
std::string CheckChangesAgreeWithTables(sqlite3* db) {
  std::string error;
  struct Entry {
    std::set<std::string> cls;
    std::map<std::string, std::string> cells;
  };
  std::map<std::pair<std::string, std::string>, Entry> entries;  // (table, pk)
  for (const auto& row : Query(db, "SELECT \"table\", pk, cid, val, cl FROM crsql_changes", &error)) {
    Entry& e = entries[{row[0], row[1]}];
    e.cls.insert(row[4]);
    if (row[2] != "'-1'") e.cells[row[2]] = row[3];
  }
  if (!error.empty()) return error;
  std::vector<std::string> problems;
  auto problem = [&](std::string p) {
    if (problems.size() < 5) problems.push_back(std::move(p));
  };
  std::set<std::pair<std::string, std::string>> live;
  for (const TableInfo& t : Tables()) {
    std::string sql = absl::StrCat("SELECT crsql_pack_columns(", t.pk, ")");
    for (const char* c : t.columns) absl::StrAppend(&sql, ", ", c);
    absl::StrAppend(&sql, " FROM ", t.name);
    const std::string quoted = absl::StrCat("'", t.name, "'");
    for (const auto& row : Query(db, sql, &error)) {
      const std::pair<std::string, std::string> key{quoted, row[0]};
      live.insert(key);
      auto it = entries.find(key);
      if (it == entries.end()) {
        problem(absl::StrCat(t.name, " row ", row[0], " is not in crsql_changes"));
        continue;
      }
      const Entry& e = it->second;
      if (e.cls.size() != 1 || std::stoll(*e.cls.begin()) % 2 != 1) {
        problem(
            absl::StrCat(t.name, " row ", row[0], " exists with causal lengths ", Join({e.cls.begin(), e.cls.end()})));
      }
      for (size_t i = 0; i < t.columns.size(); ++i) {
        auto cell = e.cells.find(absl::StrCat("'", t.columns[i], "'"));
        if (cell != e.cells.end() && cell->second != row[i + 1]) {
          problem(absl::StrCat(t.name, " row ", row[0], " column ", t.columns[i], " is ", row[i + 1],
                               " but crsql_changes says ", cell->second));
        }
      }
      if (e.cells.size() > t.columns.size()) problem(absl::StrCat(t.name, " row ", row[0], " has unknown cells"));
    }
  }
  if (!error.empty()) return error;
  for (const auto& [key, e] : entries) {
    for (const std::string& cl : e.cls) {
      if (std::stoll(cl) % 2 == 1 && live.count(key) == 0) {
        problem(absl::StrCat(key.first, " row ", key.second, " is alive in crsql_changes (cl ", cl,
                             ") but not in the table"));
      }
    }
  }
  std::string out;
  for (const std::string& p : problems) absl::StrAppend(&out, p, "; ");
  return out;
}

// Opens `db` with crlog (which recovers it) and reads its snapshot; also
// checks that crsql_changes agrees with the tables.
void TakeSnapshot(const std::string& db_path, const Mode& mode, Snapshot* out) {
  std::string error;
  sqlite3* db = OpenWithCrlog(db_path, mode, kExtension, &error);
  ASSERT_NE(db, nullptr) << "opening with crlog: " << error;
  Snapshot s;
  for (const TableInfo& t : Tables()) {
    for (const auto& row : Query(db, absl::StrCat("SELECT * FROM ", t.name, " ORDER BY ", t.pk), &error)) {
      s.tables[t.name].push_back(Join(row));
    }
  }
  for (const auto& row : Query(db,
                               "SELECT \"table\", pk, cid, val, col_version, db_version, site_id, cl, seq "
                               "FROM crsql_changes",
                               &error)) {
    s.changes.push_back(Join(row));
  }
  std::sort(s.changes.begin(), s.changes.end());
  for (const auto& row : Query(db, "SELECT kind, hash FROM crlog_events ORDER BY position", &error)) {
    s.event_kinds.push_back(row[0]);
    s.event_hashes.push_back(row[1]);
    if (row[0] == "'import'") s.import_hashes.push_back(row[1]);
  }
  if (HasTable(db, "crlog_conflicts")) {
    for (const auto& row : Query(db,
                                 "SELECT tbl, pk, cid, db_version, winner_site, winner_value, loser_site, "
                                 "loser_value, col_version FROM crlog_conflicts ORDER BY id",
                                 &error)) {
      s.conflicts.push_back(Join(row));
    }
  }
  if (HasTable(db, "crlog_stash")) {
    for (const auto& row : Query(db, "SELECT * FROM crlog_stash", &error)) s.stash.push_back(Join(row));
    std::sort(s.stash.begin(), s.stash.end());
  }
  auto version = Query(db, "SELECT crsql_db_version()", &error);
  if (!version.empty()) s.db_version = version[0][0];
  const std::string agreement = error.empty() ? CheckChangesAgreeWithTables(db) : "";
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  ASSERT_EQ(error, "");
  EXPECT_EQ(agreement, "") << "crsql_changes and the tables disagree";
  *out = std::move(s);
}

// The heads SQLite holds, read without crlog (a crash's hot journal is
// rolled back, as any opener would).
void ReadHeadsPlain(const std::string& db_path, std::set<std::string>* out) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  auto heads = engine::meta::ReadHeads(db);
  sqlite3_close(db);
  ASSERT_TRUE(heads.ok()) << heads.status();
  out->clear();
  for (const log::Hash& h : *heads) out->insert(log::ToHex(h));
}

// `crlog verify DB` with the built CLI.
void ExpectCliVerifies(const std::string& db_path) {
  FILE* p = popen(absl::StrCat("'", kCli, "' verify '", db_path, "' 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "crlog verify " << db_path << " failed: " << out;
}

// --- Building the peer, the replica and the inputs ------------------------

void RunWorkload(sqlite3* db, uint64_t seed, int transactions) {
  Workload w(db, seed, 1);
  for (int i = 0; i < transactions; ++i) {
    Workload::Outcome o = w.RunOne();
    ASSERT_EQ(o.error, "") << "workload seed " << seed;
  }
}

void CopyDir(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".stderr") != std::string::npos) continue;
    fs::copy(entry.path(), fs::path(to) / name, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
}

struct Setup {
  Snapshot before;   // the replica as the template holds it
  Snapshot after;    // the same after the child ran to its end
  Snapshot applied;  // apply-mixed: after crlog_apply alone
  size_t batch_rows = 0;
  size_t bundle_events = 0;
  std::set<std::string> heads_before;
};

// Runs the child's `action` to its end on a copy of `tmpl` in `control`,
// and reads the state it leaves.
void RunToTheEnd(const std::string& tmpl, const std::string& control, const Mode& mode, uint64_t seed,
                 const std::string& action, Snapshot* out) {
  std::filesystem::create_directories(control);
  CopyDir(tmpl, control);
  WriterOptions options;
  options.program = kMerger;
  options.action = action;
  options.seed = seed;
  options.mode = &mode;
  auto run = RunWriter(control + "/app.db", options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->ExitedCleanly()) << "the uncrashed " << action << ": " << run->Describe();
  ASSERT_EQ(run->acks, (std::vector<int64_t>{0, 1}));
  ASSERT_NO_FATAL_FAILURE(TakeSnapshot(control + "/app.db", mode, out));
  ExpectCliVerifies(control + "/app.db");
}

// Builds, in `tmpl`, the replica (app.db), the batch and the bundle from a
// peer, then runs `action` to its end on copies (in `control`) to learn the
// states after it.
void PrepareMerge(const std::string& tmpl, const std::string& control, const Mode& mode, uint64_t seed,
                  const std::string& action, Setup* out) {
  const std::string src = tmpl + "/src.db";
  const std::string db = tmpl + "/app.db";
  ASSERT_NO_FATAL_FAILURE(PrepareDatabase(src, mode));
  ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
  std::mt19937_64 rng(seed);
  std::string error;
  {
    sqlite3* peer = OpenWithCrlog(src, mode, kExtension, &error);
    ASSERT_NE(peer, nullptr) << error;
    ASSERT_NO_FATAL_FAILURE(RunWorkload(peer, seed * 1000 + 1, 25));
    // A large transaction, then deletes and updates over it (causal
    // lengths of 2, column versions above 1).
    const int64_t big = 300 + static_cast<int64_t>(rng() % 900);
    std::string msg = ExecSql(
        peer, absl::StrCat("INSERT OR REPLACE INTO items(id, a, b, c, d) WITH RECURSIVE r(x) AS (SELECT 2000 UNION ALL "
                           "SELECT x + 1 FROM r WHERE x < ",
                           2000 + big,
                           ") SELECT x, x * 3, 'peer ' || x, CAST(printf('%020d', x) AS BLOB), x / 7.0 FROM r;"
                           "DELETE FROM items WHERE id >= 2000 AND id % 13 = 0;"
                           "UPDATE items SET a = a + 1 WHERE id % 4 = 1;"
                           "INSERT INTO items(id, a) VALUES (2015, -15);"));
    ASSERT_EQ(msg, "");
    // The batch: every row of the peer's crsql_changes, into a plain file.
    sqlite3* batch = nullptr;
    ASSERT_EQ(sqlite3_open_v2((db + ".batch").c_str(), &batch, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
              SQLITE_OK);
    ASSERT_EQ(ExecSql(batch,
                      "CREATE TABLE changes(tbl, pk, cid, val, col_version, db_version, site_id, cl, seq);"
                      "BEGIN;"),
              "");
    sqlite3_stmt* read = nullptr;
    sqlite3_stmt* write = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(peer,
                                 "SELECT \"table\", pk, cid, val, col_version, db_version, site_id, cl, seq "
                                 "FROM crsql_changes ORDER BY db_version, seq",
                                 -1, &read, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(batch, "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &write, nullptr),
              SQLITE_OK);
    while (sqlite3_step(read) == SQLITE_ROW) {
      for (int i = 0; i < 9; ++i) sqlite3_bind_value(write, i + 1, sqlite3_column_value(read, i));
      ASSERT_EQ(sqlite3_step(write), SQLITE_DONE);
      sqlite3_reset(write);
      ++out->batch_rows;
    }
    sqlite3_finalize(read);
    sqlite3_finalize(write);
    ASSERT_EQ(ExecSql(batch, "COMMIT"), "");
    ASSERT_EQ(sqlite3_close(batch), SQLITE_OK);
    // The bundle: the peer's whole log.
    sqlite3_stmt* exp = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(peer, "SELECT crlog_export(), (SELECT count(*) FROM crlog_events)", -1, &exp, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(exp), SQLITE_ROW) << sqlite3_errmsg(peer);
    std::ofstream(db + ".bundle", std::ios::binary)
        .write(static_cast<const char*>(sqlite3_column_blob(exp, 0)), sqlite3_column_bytes(exp, 0));
    out->bundle_events = static_cast<size_t>(sqlite3_column_int64(exp, 1));
    sqlite3_finalize(exp);
    ASSERT_EQ(sqlite3_close(peer), SQLITE_OK);
  }
  {
    sqlite3* replica = OpenWithCrlog(db, mode, kExtension, &error);
    ASSERT_NE(replica, nullptr) << error;
    ASSERT_NO_FATAL_FAILURE(RunWorkload(replica, seed * 1000 + 2, 15));
    ASSERT_EQ(sqlite3_close(replica), SQLITE_OK);
  }
  std::filesystem::remove_all(src);
  std::filesystem::remove_all(src + "-crlog");
  ASSERT_NO_FATAL_FAILURE(TakeSnapshot(db, mode, &out->before));
  ASSERT_NO_FATAL_FAILURE(ReadHeadsPlain(db, &out->heads_before));

  ASSERT_NO_FATAL_FAILURE(RunToTheEnd(tmpl, control + "/after", mode, seed, action, &out->after));
  if (action == "apply-mixed") {
    ASSERT_NO_FATAL_FAILURE(RunToTheEnd(tmpl, control + "/applied", mode, seed, "apply", &out->applied));
  }

  // The merge did something: one import (and, mixed, one local event), or
  // the peer's events (and, apply-mixed, one local event).
  const Snapshot& b = out->before;
  const Snapshot& a = out->after;
  if (action == "apply") {
    EXPECT_EQ(a.event_kinds.size(), b.event_kinds.size() + out->bundle_events);
  } else if (action == "apply-mixed") {
    EXPECT_EQ(a.event_kinds.size(), b.event_kinds.size() + out->bundle_events + 1);
    EXPECT_EQ(out->applied.event_kinds.size(), b.event_kinds.size() + out->bundle_events);
    EXPECT_NE(a.tables, out->applied.tables);
  } else {
    EXPECT_EQ(a.import_hashes.size(), b.import_hashes.size() + 1) << "the batch made no import event";
    EXPECT_EQ(a.event_kinds.size(), b.event_kinds.size() + (action == "mixed" ? 2 : 1));
  }
  EXPECT_NE(a.tables, b.tables);
  EXPECT_GT(a.conflicts.size(), b.conflicts.size()) << "the merge was meant to meet concurrent writes";
  EXPECT_GT(out->batch_rows, 1000u) << "the batch is meant to be large";
}

// --- One crash and its checks -------------------------------------------

// The state a crash may leave, once recovered.
enum class State {
  kBefore,   // as before the child ran
  kApplied,  // apply-mixed: the bundle applied, the local writes not
  kAfter,    // as after the child ran to its end
};

const char* Name(State s) {
  switch (s) {
    case State::kBefore:
      return "before the child ran";
    case State::kApplied:
      return "after crlog_apply alone";
    case State::kAfter:
      return "after the child ran to its end";
  }
  return "?";
}

struct Outcomes {
  int before = 0;             // recovered to the state before the merge
  int applied = 0;            // to the bundle without the local writes (apply-mixed)
  int after = 0;              // recovered to the state after it
  int rolled_forward = 0;     // crlog_apply: the log had the events, SQLite not
  int clean_exit = 0;         // the kill came too late: the child had ended
  int committed_pending = 0;  // SQLite had committed, the events were still pending
  std::string Describe() const {
    return absl::StrCat(before, " before, ", applied, " bundle only, ", after, " after (", rolled_forward,
                        " rolled forward from the log, ", committed_pending, " published by recovery), ", clean_exit,
                        " ended before the kill");
  }
};

class MergeCrash {
 public:
  MergeCrash(const Mode& mode, uint64_t seed, std::string action) : mode_(mode), seed_(seed), action_(action) {}

  void Prepare() {
    ASSERT_NO_FATAL_FAILURE(PrepareMerge(tmpl_.path(), control_.path(), mode_, seed_, action_, &setup_));
  }
  const Setup& setup() const { return setup_; }

  // Runs the child on a fresh copy of the template with `options` (crash
  // point or kill), then checks the state before and after recovery.
  // `expect`: the state a crash point must leave; null for a random kill.
  void Crash(WriterOptions options, const State* expect, Outcomes* outcomes) {
    TempDir dir;
    CopyDir(tmpl_.path(), dir.path());
    const std::string db = dir.Db();
    options.program = kMerger;
    options.action = action_;
    options.seed = seed_;
    options.mode = &mode_;
    auto run = RunWriter(db, options);
    ASSERT_TRUE(run.ok()) << run.status();
    const bool point = !options.crash_at.empty();
    if (point) {
      ASSERT_TRUE(run->KilledBySigkill())
          << "never reached crash point " << options.crash_at << ": " << run->Describe();
      ASSERT_EQ(run->acks, std::vector<int64_t>{0}) << run->Describe();
    } else {
      ASSERT_TRUE(run->KilledBySigkill() || run->ExitedCleanly()) << run->Describe();
      ASSERT_FALSE(run->acks.empty()) << run->Describe();
      outcomes->clean_exit += run->ExitedCleanly();
    }
    const bool acked = run->acks.size() == 2;

    // Before recovery: what SQLite holds, and what reached the log.
    std::set<std::string> heads;
    ASSERT_NO_FATAL_FAILURE(ReadHeadsPlain(db, &heads));
    const bool sqlite_committed = heads != setup_.heads_before;
    auto facts = ReadLogFacts(db);
    ASSERT_TRUE(facts.ok()) << facts.status();
    const size_t events_before = setup_.before.event_kinds.size();
    const bool applies = action_ == "apply" || action_ == "apply-mixed";
    const bool log_has_bundle = applies && facts->published >= events_before + setup_.bundle_events;
    const bool local_writes = action_ == "mixed" || action_ == "apply-mixed";
    if (point) {
      EXPECT_EQ(sqlite_committed, options.crash_at == "commit-before-publish") << "SQLite's heads";
      const size_t pending = action_ == "mixed"         ? 2u
                             : action_ == "apply-mixed" ? setup_.bundle_events + 1
                                                        : 1u;
      EXPECT_EQ(facts->pending.size(), pending)
          << "the transaction's events (an import or the bundle, a local event) are not pending";
      EXPECT_EQ(facts->published, events_before) << "published before the commit ended";
    }
    outcomes->committed_pending += sqlite_committed && !facts->pending.empty();
    if (acked) {
      EXPECT_TRUE(sqlite_committed) << "an acknowledged COMMIT is not in SQLite";
    }

    // Every way in is all or nothing with SQLite's commit.
    if (!sqlite_committed) {
      EXPECT_EQ(facts->published, events_before) << "events of an uncommitted merge or apply were published";
    }
    outcomes->rolled_forward += log_has_bundle && !sqlite_committed;
    const State want = sqlite_committed ? State::kAfter : State::kBefore;
    if (expect != nullptr) {
      EXPECT_EQ(Name(want), Name(*expect)) << "the state this crash point must leave";
    }

    // Recovery, and the state it leaves.
    Snapshot recovered;
    ASSERT_NO_FATAL_FAILURE(TakeSnapshot(db, mode_, &recovered));
    const Snapshot& expected = want == State::kAfter     ? setup_.after
                               : want == State::kApplied ? setup_.applied
                                                         : setup_.before;
    const std::string diff = Diff(recovered, expected, !local_writes);
    EXPECT_EQ(diff, "") << "after recovery the replica should be as " << Name(want) << " (" << action_ << "; SQLite "
                        << (sqlite_committed ? "had" : "had not") << " committed; the log "
                        << (log_has_bundle ? "had" : "lacked") << " the bundle). Difference from the state "
                        << Name(State::kBefore) << ": " << Diff(recovered, setup_.before, !local_writes)
                        << "; from the state " << Name(State::kAfter) << ": "
                        << Diff(recovered, setup_.after, !local_writes);
    (want == State::kAfter ? outcomes->after : want == State::kApplied ? outcomes->applied : outcomes->before) += 1;

    auto settled = ReadLogFacts(db);
    ASSERT_TRUE(settled.ok()) << settled.status();
    EXPECT_TRUE(settled->pending.empty()) << settled->pending.size() << " events still pending after recovery";
    for (size_t i = 0; i < settled->local_seqs.size(); ++i) {
      ASSERT_EQ(settled->local_seqs[i], i + 1) << "this site's seqs have a gap or a repeat at position " << i;
    }
    EXPECT_EQ(settled->local_seqs.size(), settled->watermark.seq);
    auto report = engine::VerifyDatabase(db);
    EXPECT_TRUE(report.ok()) << "VerifyDatabase after recovery: " << report.status();
    ExpectCliVerifies(db);
    if (point || run->KilledBySigkill()) {
      ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode_));
      ExpectCliVerifies(db);
    }
  }

 private:
  const Mode& mode_;
  uint64_t seed_;
  std::string action_;
  TempDir tmpl_;
  TempDir control_;
  Setup setup_;
};

// A kill at a seeded moment after the child is ready: during the batch's
// statements, at the start of the COMMIT (or crlog_apply), after one of
// SQLite's writes in it, or after one of its syncs or journal deletions.
WriterOptions RandomKill(std::mt19937_64& rng, size_t statements) {
  WriterOptions o;
  o.kill_after_acks = 1;  // 0: the child is ready
  switch (rng() % 5) {
    case 0:
      o.steps = WriterOptions::Step::kStatement;
      o.then_after_steps = 1 + static_cast<int>(rng() % (statements + 3));
      break;
    case 1:
      o.steps = WriterOptions::Step::kCommit;
      o.then_after_steps = 1;
      break;
    case 2:
      o.steps = WriterOptions::Step::kCommitIo;
      o.then_after_steps = 1 + static_cast<int>(rng() % 3);
      break;
    case 3:
      o.steps = WriterOptions::Step::kCommitIo;
      o.then_after_steps = 1 + static_cast<int>(rng() % 60);
      break;
    case 4:
      o.steps = WriterOptions::Step::kCommitSync;
      o.then_after_steps = 1 + static_cast<int>(rng() % 4);
      break;
  }
  return o;
}

class MergeCrashTest : public ::testing::TestWithParam<Mode> {
 protected:
  // Each seed: the three commit crash points (when `points`), then `kills`
  // random kills.
  void Run(const std::string& action, int default_seeds, uint64_t first_seed, bool points, int kills) {
    const Mode& mode = GetParam();
    Outcomes outcomes;
    const test_support::Seeds seeds = Seeds(default_seeds, first_seed);
    for (uint64_t seed : seeds) {
      SeedTrace trace(seeds, seed, absl::StrCat("mode ", mode.name));
      MergeCrash crash(mode, seed, action);
      ASSERT_NO_FATAL_FAILURE(crash.Prepare());
      if (points) {
        for (const char* point : {"commit-after-log", "commit-after-watermark", "commit-before-publish"}) {
          SCOPED_TRACE(absl::StrCat("crash point ", point));
          WriterOptions o;
          o.crash_at = point;
          // SQLite commits between commit-after-watermark and
          // commit-before-publish.
          const State expect = std::string(point) == "commit-before-publish" ? State::kAfter : State::kBefore;
          ASSERT_NO_FATAL_FAILURE(crash.Crash(o, &expect, &outcomes));
          if (HasFailure()) return;
        }
      }
      std::mt19937_64 rng(seed);
      for (int k = 0; k < kills; ++k) {
        // The statements the child reports: one per batch row, plus BEGIN,
        // COMMIT and (mixed) three local writes; crlog_apply alone is one;
        // apply-mixed is BEGIN, crlog_apply, three local writes, COMMIT.
        const size_t statements = action == "apply"         ? 1
                                  : action == "apply-mixed" ? 6
                                                            : crash.setup().batch_rows + 5;
        WriterOptions o = RandomKill(rng, statements);
        SCOPED_TRACE(
            absl::StrCat("kill ", k, ": after ", o.then_after_steps, " steps of kind ", static_cast<int>(o.steps)));
        ASSERT_NO_FATAL_FAILURE(crash.Crash(o, nullptr, &outcomes));
        if (HasFailure()) return;
      }
    }
    std::printf("[ %s %s ] %s\n", action.c_str(), mode.name, outcomes.Describe().c_str());
  }
};

// 1. BEGIN; INSERT INTO crsql_changes x N; COMMIT, crashed at each commit
// crash point: the batch and its import event are both there after
// recovery (commit-before-publish: SQLite committed) or neither is.
TEST_P(MergeCrashTest, BatchMergeCrashedAtCommitPointsIsAllOrNothing) { Run("merge", 2, 1, true, 0); }

// 1. The same, killed at seeded random moments.
TEST_P(MergeCrashTest, BatchMergeKilledAtRandomIsAllOrNothing) { Run("merge", 2, 10, false, 4); }

// 2. SELECT crlog_apply(bundle) killed at random: the bundle is in the
// tables and the log exactly when SQLite committed its fold.
TEST_P(MergeCrashTest, ApplyKilledAtRandomIsAllOrNothing) { Run("apply", 2, 100, false, 5); }

// 2. BEGIN; SELECT crlog_apply(bundle); local writes; COMMIT, crashed at
// the commit crash points and at random: the bundle and the local writes
// are there exactly when SQLite committed; a lost transaction's apply is
// not rolled forward.
TEST_P(MergeCrashTest, ApplyInsideATransactionIsLostWithTheTransaction) {
  Run("apply-mixed", 1, 300, true, 2);
}

// 3. A local write inside the merging transaction: the import and the local
// event are both published or neither, at each commit crash point
// (commit-after-watermark above all) and at random kills.
TEST_P(MergeCrashTest, MixedTransactionPublishesImportAndLocalEventTogether) { Run("mixed", 2, 200, true, 2); }

INSTANTIATE_TEST_SUITE_P(Modes, MergeCrashTest, ::testing::ValuesIn(Modes()), ModeName);

}  // namespace
}  // namespace crlog::crash
