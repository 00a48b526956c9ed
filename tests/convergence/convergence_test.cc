// Randomised convergence: three replicas (database files with the built
// crsqlite.so loaded) write random histories and sync in random orders, with
// old batches sent again and full resends; every replica must hold exactly
// what the reference model of cr-sqlite's rules (reference_model.h) says,
// after every step, and all must converge.
//
// Two syncs are exercised:
//  - cr-sqlite's loop: on X, SELECT ... FROM crsql_changes WHERE db_version >
//    :last AND site_id IS NOT :y_site; on Y, INSERT INTO crsql_changes inside
//    one transaction (Y remembers the last db_version it got from X);
//  - crlog's engine path: SELECT crlog_apply(bundle) of SELECT crlog_export().
//
// Environment: CRLOG_SEED (first seed; alone, runs just that seed),
// CRLOG_ROUNDS (number of seeds, default 20), CRLOG_STEPS (steps per seed,
// default 60), CRLOG_SHRINK=0 (report a failure without shrinking it).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "crlog/value.h"
#include "schema/packed_pk.h"
#include "tests/capture/capture_test_util.h"
#include "tests/convergence/reference_model.h"
#include "tests/support/seeds.h"

namespace crlog::convergence {
namespace {

using capture_test::Bind;
using capture_test::ColumnValue;

using capture_test::Db;
using capture_test::PkText;
using capture_test::TempDir;
using Error = std::optional<std::string>;
using Rows = std::vector<std::vector<Value>>;

constexpr int kReplicas = 3;
constexpr const char* kNames[kReplicas] = {"A", "B", "C"};

std::vector<TableDef> TableDefs() {
  return {TableDef{"t", {"id"}, {"a", "b", "c"}}, TableDef{"tags", {"x", "y"}, {}}};
}

constexpr char kSchema[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b, c);"
    "CREATE TABLE tags(x NOT NULL, y NOT NULL, PRIMARY KEY (x, y));"
    "SELECT crsql_as_crr('t');"
    "SELECT crsql_as_crr('tags');";

// --- Values ------------------------------------------------------------------

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// The value as an SQL literal. Reals are never integral here, so %.17g
// always keeps a '.' and SQLite reads them back as REAL.
std::string Literal(const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: return absl::StrCat(v.integer);
    case ValueType::kReal: return absl::StrFormat("%.17g", v.real);
    case ValueType::kText: {
      std::string out = "'";
      for (char c : v.bytes) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
      }
      return out + "'";
    }
    case ValueType::kBlob: return absl::StrCat("X'", Hex(v.bytes), "'");
    case ValueType::kNull: return "NULL";
  }
  return "NULL";
}

// Small pools so that concurrent writes collide on values and rows. Reals
// are not integral: SQLite's `IS` compares 1 and 1.0 as equal, the merge
// order does not.
Value RandomValue(std::mt19937_64& rng) {
  static const std::vector<Value> kPool = {
      Value::Integer(0),  Value::Integer(1),    Value::Integer(2),   Value::Integer(-3),
      Value::Real(0.5),   Value::Real(-1.5),    Value::Real(2.25),   Value::Text(""),
      Value::Text("a"),   Value::Text("b"),     Value::Text("ab"),   Value::Blob(""),
      Value::Blob("a"),   Value::Blob("\xff"),  Value::Null(),       Value::Null(),
  };
  return kPool[std::uniform_int_distribution<size_t>(0, kPool.size() - 1)(rng)];
}

Value RandomTagX(std::mt19937_64& rng) {
  static const std::vector<Value> kPool = {Value::Integer(1), Value::Integer(2), Value::Text("p")};
  return kPool[std::uniform_int_distribution<size_t>(0, kPool.size() - 1)(rng)];
}

Value RandomTagY(std::mt19937_64& rng) {
  static const std::vector<Value> kPool = {Value::Text("a"), Value::Blob("b")};
  return kPool[std::uniform_int_distribution<size_t>(0, kPool.size() - 1)(rng)];
}

std::string SiteName(const std::string& site, const std::string (&sites)[kReplicas]) {
  for (int i = 0; i < kReplicas; ++i) {
    if (site == sites[i]) return kNames[i];
  }
  return absl::StrCat("X'", Hex(site), "'");
}

// --- Statements ----------------------------------------------------------------

enum class StmtKind {
  kInsertOrIgnore,  // INSERT OR IGNORE INTO t VALUES (id, a, b, c)
  kReplace,         // INSERT OR REPLACE INTO t VALUES (id, a, b, c)
  kReplaceA,        // REPLACE INTO t(id, a) VALUES (id, a)
  kUpsert,          // INSERT ... ON CONFLICT(id) DO UPDATE SET a = excluded.a, c = excluded.c
  kUpdateA,         // UPDATE t SET a = v WHERE id = k
  kUpdateAB,        // UPDATE t SET a = v, b = w WHERE id = k
  kUpdateCFrom,     // UPDATE t SET c = v WHERE id >= k
  kDelete,          // DELETE FROM t WHERE id = k
  kDeleteWhereB,    // DELETE FROM t WHERE b IS v
  kMovePk,          // UPDATE OR IGNORE t SET id = k2 WHERE id = k
  kTagInsert,       // INSERT OR IGNORE INTO tags VALUES (x, y)
  kTagReplace,      // INSERT OR REPLACE INTO tags VALUES (x, y)
  kTagDelete,       // DELETE FROM tags WHERE x = x AND y = y
  kTagDeleteX,      // DELETE FROM tags WHERE x = x
};

struct Stmt {
  StmtKind kind = StmtKind::kInsertOrIgnore;
  int64_t id = 0;
  int64_t id2 = 0;
  std::vector<Value> vals;  // a, b, c
  Value x, y;
};

std::string StmtSql(const Stmt& s) {
  const std::vector<Value>& v = s.vals;
  std::string row = absl::StrCat("(", s.id, ", ", Literal(v[0]), ", ", Literal(v[1]), ", ", Literal(v[2]), ")");
  std::string tag = absl::StrCat("(", Literal(s.x), ", ", Literal(s.y), ")");
  switch (s.kind) {
    case StmtKind::kInsertOrIgnore: return absl::StrCat("INSERT OR IGNORE INTO t VALUES ", row);
    case StmtKind::kReplace: return absl::StrCat("INSERT OR REPLACE INTO t VALUES ", row);
    case StmtKind::kReplaceA: return absl::StrCat("REPLACE INTO t(id, a) VALUES (", s.id, ", ", Literal(v[0]), ")");
    case StmtKind::kUpsert:
      return absl::StrCat("INSERT INTO t VALUES ", row,
                          " ON CONFLICT(id) DO UPDATE SET a = excluded.a, c = excluded.c");
    case StmtKind::kUpdateA: return absl::StrCat("UPDATE t SET a = ", Literal(v[0]), " WHERE id = ", s.id);
    case StmtKind::kUpdateAB:
      return absl::StrCat("UPDATE t SET a = ", Literal(v[0]), ", b = ", Literal(v[1]), " WHERE id = ", s.id);
    case StmtKind::kUpdateCFrom: return absl::StrCat("UPDATE t SET c = ", Literal(v[0]), " WHERE id >= ", s.id);
    case StmtKind::kDelete: return absl::StrCat("DELETE FROM t WHERE id = ", s.id);
    case StmtKind::kDeleteWhereB: return absl::StrCat("DELETE FROM t WHERE b IS ", Literal(v[0]));
    case StmtKind::kMovePk: return absl::StrCat("UPDATE OR IGNORE t SET id = ", s.id2, " WHERE id = ", s.id);
    case StmtKind::kTagInsert: return absl::StrCat("INSERT OR IGNORE INTO tags VALUES ", tag);
    case StmtKind::kTagReplace: return absl::StrCat("INSERT OR REPLACE INTO tags VALUES ", tag);
    case StmtKind::kTagDelete:
      return absl::StrCat("DELETE FROM tags WHERE x = ", Literal(s.x), " AND y = ", Literal(s.y));
    case StmtKind::kTagDeleteX: return absl::StrCat("DELETE FROM tags WHERE x = ", Literal(s.x));
  }
  return "";
}

std::string TPk(int64_t id) { return schema::PackColumns({Value::Integer(id)}); }

int64_t TId(const std::string& pk) {
  auto values = schema::UnpackColumns(pk);
  return values.ok() && !values->empty() ? (*values)[0].integer : 0;
}

// What `s` does to the model of the replica that runs it, as SQLite and
// cr-sqlite's triggers would.
void ApplyStmt(ModelReplica& m, const Stmt& s) {
  const std::vector<Value>& v = s.vals;
  std::string pk = TPk(s.id);
  auto insert_or_replace = [&](const std::string& table, const std::string& key, const std::vector<Value>& vals) {
    if (m.Alive(table, key)) {
      m.LocalReplace(table, key, vals);
    } else {
      m.LocalInsert(table, key, vals);
    }
  };
  switch (s.kind) {
    case StmtKind::kInsertOrIgnore:
      if (!m.Alive("t", pk)) m.LocalInsert("t", pk, v);
      return;
    case StmtKind::kReplace: insert_or_replace("t", pk, v); return;
    case StmtKind::kReplaceA: insert_or_replace("t", pk, {v[0], Value::Null(), Value::Null()}); return;
    case StmtKind::kUpsert:
      if (m.Alive("t", pk)) {
        m.LocalUpdate("t", pk, "a", v[0]);
        m.LocalUpdate("t", pk, "c", v[2]);
      } else {
        m.LocalInsert("t", pk, v);
      }
      return;
    case StmtKind::kUpdateA:
      if (m.Alive("t", pk)) m.LocalUpdate("t", pk, "a", v[0]);
      return;
    case StmtKind::kUpdateAB:
      if (m.Alive("t", pk)) {
        m.LocalUpdate("t", pk, "a", v[0]);
        m.LocalUpdate("t", pk, "b", v[1]);
      }
      return;
    case StmtKind::kUpdateCFrom:
      for (const std::string& key : m.AlivePks("t")) {
        if (TId(key) >= s.id) m.LocalUpdate("t", key, "c", v[0]);
      }
      return;
    case StmtKind::kDelete:
      if (m.Alive("t", pk)) m.LocalDelete("t", pk);
      return;
    case StmtKind::kDeleteWhereB:
      for (const std::string& key : m.AlivePks("t")) {
        if (m.RowValues("t", key)[1] == v[0]) m.LocalDelete("t", key);  // no integral reals: IS is ==
      }
      return;
    case StmtKind::kMovePk: {
      std::string to = TPk(s.id2);
      if (!m.Alive("t", pk) || m.Alive("t", to)) return;
      m.LocalMovePk("t", pk, to);
      return;
    }
    case StmtKind::kTagInsert:
    case StmtKind::kTagReplace: {
      std::string key = schema::PackColumns({s.x, s.y});
      if (!m.Alive("tags", key)) m.LocalInsert("tags", key, {});
      return;  // replacing a row made only of its pk changes nothing
    }
    case StmtKind::kTagDelete: {
      std::string key = schema::PackColumns({s.x, s.y});
      if (m.Alive("tags", key)) m.LocalDelete("tags", key);
      return;
    }
    case StmtKind::kTagDeleteX:
      for (const std::string& key : m.AlivePks("tags")) {
        auto values = schema::UnpackColumns(key);
        if (values.ok() && (*values)[0] == s.x) m.LocalDelete("tags", key);
      }
      return;
  }
}

Stmt RandomStmt(std::mt19937_64& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Stmt s;
  // Weights: inserts and updates dominate, deletes often enough that rows
  // die and come back.
  static const std::vector<std::pair<StmtKind, int>> kWeights = {
      {StmtKind::kInsertOrIgnore, 10}, {StmtKind::kReplace, 5},     {StmtKind::kReplaceA, 3},
      {StmtKind::kUpsert, 4},          {StmtKind::kUpdateA, 10},    {StmtKind::kUpdateAB, 6},
      {StmtKind::kUpdateCFrom, 3},     {StmtKind::kDelete, 8},      {StmtKind::kDeleteWhereB, 2},
      {StmtKind::kMovePk, 3},          {StmtKind::kTagInsert, 6},   {StmtKind::kTagReplace, 2},
      {StmtKind::kTagDelete, 4},       {StmtKind::kTagDeleteX, 1},
  };
  int total = 0;
  for (const auto& [kind, w] : kWeights) total += w;
  int r = pick(0, total - 1);
  for (const auto& [kind, w] : kWeights) {
    if (r < w) {
      s.kind = kind;
      break;
    }
    r -= w;
  }
  s.id = pick(1, 5);
  do {
    s.id2 = pick(1, 5);
  } while (s.id2 == s.id);
  for (int i = 0; i < 3; ++i) s.vals.push_back(RandomValue(rng));
  s.x = RandomTagX(rng);
  s.y = RandomTagY(rng);
  return s;
}

// --- Steps -------------------------------------------------------------------------

struct Step {
  enum class Kind { kLocal, kSync, kFullSync, kRepeat };
  Kind kind = Kind::kLocal;
  int from = 0;  // sync source
  int to = 0;    // sync target, or the replica that writes
  std::vector<Stmt> stmts;
  int back = 0;  // repeat: how many batches received by `to` to go back
};

std::string LocalSql(const std::vector<Stmt>& stmts) {
  std::vector<std::string> parts;
  for (const Stmt& s : stmts) parts.push_back(StmtSql(s));
  if (parts.size() == 1) return parts[0];
  return absl::StrCat("BEGIN; ", absl::StrJoin(parts, "; "), "; COMMIT");
}

std::string Describe(const Step& step) {
  switch (step.kind) {
    case Step::Kind::kLocal: return absl::StrCat(kNames[step.to], ": ", LocalSql(step.stmts));
    case Step::Kind::kSync: return absl::StrCat("sync ", kNames[step.from], " -> ", kNames[step.to]);
    case Step::Kind::kFullSync:
      return absl::StrCat("full resend ", kNames[step.from], " -> ", kNames[step.to], " (last = 0)");
    case Step::Kind::kRepeat: return absl::StrCat("repeat to ", kNames[step.to], " the batch ", step.back, " back");
  }
  return "";
}

std::vector<Step> Generate(uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<Step> out;
  for (int i = 0; i < steps; ++i) {
    Step step;
    int r = pick(0, 99);
    int a = pick(0, kReplicas - 1);
    int b = (a + pick(1, kReplicas - 1)) % kReplicas;
    if (r < 55) {
      step.kind = Step::Kind::kLocal;
      step.to = a;
      int n = pick(0, 9) < 7 ? 1 : pick(2, 4);
      for (int j = 0; j < n; ++j) step.stmts.push_back(RandomStmt(rng));
    } else if (r < 87) {
      step.kind = Step::Kind::kSync;
      step.from = a;
      step.to = b;
    } else if (r < 92) {
      step.kind = Step::Kind::kFullSync;
      step.from = a;
      step.to = b;
    } else {
      step.kind = Step::Kind::kRepeat;
      step.to = b;
      step.back = pick(0, 5);
    }
    out.push_back(std::move(step));
  }
  return out;
}

// --- SQL ---------------------------------------------------------------------------

// Runs the one statement `sql` with `binds`; its rows go to `*out` when given.
Error Query(sqlite3* db, const std::string& sql, const std::vector<Value>& binds, Rows* out = nullptr) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return absl::StrCat("preparing `", sql, "` failed: ", sqlite3_errmsg(db));
  }
  for (size_t i = 0; i < binds.size(); ++i) Bind(stmt, static_cast<int>(i + 1), binds[i]);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (out == nullptr) continue;
    std::vector<Value> row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) row.push_back(ColumnValue(stmt, i));
    out->push_back(std::move(row));
  }
  Error err;
  if (rc != SQLITE_DONE) err = absl::StrCat("`", sql, "` failed: ", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  return err;
}

Error Exec(Db& db, const std::string& sql) {
  std::string err = db.Try(sql);
  if (err.empty()) return std::nullopt;
  return absl::StrCat("`", sql, "` failed: ", err);
}

Error QueryInt(sqlite3* db, const std::string& sql, const std::vector<Value>& binds, int64_t* v) {
  Rows rows;
  if (Error e = Query(db, sql, binds, &rows)) return e;
  if (rows.size() != 1 || rows[0].size() != 1 || rows[0][0].type != ValueType::kInteger) {
    return absl::StrCat("`", sql, "` did not return one integer");
  }
  *v = rows[0][0].integer;
  return std::nullopt;
}

// --- Comparing -----------------------------------------------------------------------

std::string RowText(const std::vector<Value>& vals) {
  std::vector<std::string> parts;
  for (const Value& v : vals) parts.push_back(ValueToString(v));
  return absl::StrCat("(", absl::StrJoin(parts, ", "), ")");
}

// Names the rows that differ between two sets of live tables.
std::string DiffTables(const Tables& got, const Tables& want, const std::string& got_name,
                       const std::string& want_name) {
  std::vector<std::string> lines;
  std::set<std::string> names;
  for (const auto& [n, rows] : got) names.insert(n);
  for (const auto& [n, rows] : want) names.insert(n);
  for (const std::string& n : names) {
    static const std::map<std::string, std::vector<Value>> kEmpty;
    const auto& g = got.count(n) ? got.at(n) : kEmpty;
    const auto& w = want.count(n) ? want.at(n) : kEmpty;
    std::set<std::string> pks;
    for (const auto& [pk, v] : g) pks.insert(pk);
    for (const auto& [pk, v] : w) pks.insert(pk);
    for (const std::string& pk : pks) {
      auto gi = g.find(pk);
      auto wi = w.find(pk);
      if (gi != g.end() && wi != w.end() && gi->second == wi->second) continue;
      lines.push_back(absl::StrCat("  ", n, "(", PkText(pk), "): ", got_name, " ",
                                   gi == g.end() ? "has no row" : RowText(gi->second), ", ", want_name, " ",
                                   wi == w.end() ? "has no row" : RowText(wi->second)));
    }
  }
  if (lines.size() > 8) lines.resize(8);
  return absl::StrJoin(lines, "\n");
}

using ChangeKey = std::tuple<std::string, std::string, std::string>;  // table, pk, cid
struct ChangeState {
  Value val;
  int64_t col_version = 0;
  int64_t cl = 0;
  std::string site;
  friend bool operator==(const ChangeState&, const ChangeState&) = default;
};
using ChangeMap = std::map<ChangeKey, ChangeState>;

std::string DescribeKey(const ChangeKey& k) {
  return absl::StrCat(std::get<0>(k), "(", PkText(std::get<1>(k)), ").", std::get<2>(k));
}

std::string DescribeState(const ChangeState& s, const std::string (&sites)[kReplicas]) {
  return absl::StrCat(ValueToString(s.val), " col_version=", s.col_version, " cl=", s.cl, " site=",
                      SiteName(s.site, sites));
}

std::string DiffChanges(const ChangeMap& got, const ChangeMap& want, const std::string (&sites)[kReplicas]) {
  std::vector<std::string> lines;
  std::set<ChangeKey> keys;
  for (const auto& [k, s] : got) keys.insert(k);
  for (const auto& [k, s] : want) keys.insert(k);
  for (const ChangeKey& k : keys) {
    auto gi = got.find(k);
    auto wi = want.find(k);
    if (gi != got.end() && wi != want.end() && gi->second == wi->second) continue;
    lines.push_back(absl::StrCat("  ", DescribeKey(k), ": crlog ",
                                 gi == got.end() ? "has no entry" : DescribeState(gi->second, sites),
                                 "; model ", wi == want.end() ? "has no entry" : DescribeState(wi->second, sites)));
  }
  if (lines.size() > 8) lines.resize(8);
  return absl::StrJoin(lines, "\n");
}

// A batch of crsql_changes rows in the order of the SELECT below.
constexpr char kSelectChanges[] =
    "SELECT \"table\", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes "
    "WHERE db_version > ? AND site_id IS NOT ?";

Change RowToChange(const std::vector<Value>& r) {
  Change c;
  c.table = r[0].bytes;
  c.pk = r[1].bytes;
  c.cid = r[2].bytes;
  c.val = r[3];
  c.col_version = r[4].integer;
  c.db_version = r[5].integer;
  c.site = r[6].bytes;
  c.cl = r[7].integer;
  c.seq = r[8].integer;
  return c;
}

std::string DescribeChange(const Change& c, const std::string (&sites)[kReplicas]) {
  return absl::StrCat(c.table, "(", PkText(c.pk), ").", c.cid, " = ", ValueToString(c.val),
                      " col_version=", c.col_version, " cl=", c.cl, " site=", SiteName(c.site, sites));
}

// The differences between two batches, as multisets ignoring db_version/seq.
std::string DiffBatches(const std::vector<Change>& got, const std::vector<Change>& want,
                        const std::string (&sites)[kReplicas]) {
  auto canon = [&](const std::vector<Change>& b) {
    std::multiset<std::string> out;
    for (const Change& c : b) out.insert(DescribeChange(c, sites));
    return out;
  };
  std::multiset<std::string> g = canon(got), w = canon(want);
  std::vector<std::string> lines;
  for (const std::string& s : g) {
    if (w.count(s) < g.count(s) && lines.size() < 8) lines.push_back("  crlog sent, model would not: " + s);
  }
  for (const std::string& s : w) {
    if (g.count(s) < w.count(s) && lines.size() < 8) lines.push_back("  model would send, crlog did not: " + s);
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  return absl::StrJoin(lines, "\n");
}

// --- The world: three real replicas and their models ------------------------------------

enum class Mode {
  kChangesLoop,  // every sync is cr-sqlite's crsql_changes loop
  kEngineToC,    // C receives only by crlog_apply(crlog_export()); the rest use the loop
};

struct Options {
  Mode mode = Mode::kChangesLoop;
  bool merge_equal_values = false;  // crsql_config_set('merge-equal-values', 1) everywhere
};

class World {
 public:
  explicit World(Options options) : mode_(options.mode), merge_equal_values_(options.merge_equal_values) {}
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Runs `steps` then the final convergence; the first failure, if any.
  // `trace` gets one line per step done.
  Error Run(const std::vector<Step>& steps, std::vector<std::string>* trace);

 private:
  struct Batch {
    int from = 0;
    int to = 0;
    int step = 0;
    bool engine = false;
    Rows rows;                  // loop: the crsql_changes rows crlog sent
    std::vector<Change> model;  // loop: the same rows (checked against the model's own
                                // batch); engine: the sender model's full state
    Value bundle;               // engine: crlog_export()
  };

  Error Setup();
  Error Do(int index, const Step& step, std::string* note);
  Error Local(int r, const std::vector<Stmt>& stmts);
  Error SyncLoop(int from, int to, bool full, int step, bool* changed, std::string* note);
  Error ApplyRows(int to, const Rows& rows, const std::vector<Change>& model, bool* changed);
  Error SyncEngine(int from, int to, int step, bool* changed, std::string* note);
  Error ApplyBundle(int to, const Value& bundle, const std::vector<Change>& model, bool expect_nothing_new,
                    bool* changed, int64_t* added);
  Error Repeat(int to, int back, std::string* note);
  Error Sync(int from, int to, bool full, int step, bool* changed, std::string* note);
  Error Check(int r);
  Error ReadTables(int r, Tables* out);
  Error ReadChanges(int r, ChangeMap* out);
  Error Final(std::vector<std::string>* trace);

  Mode mode_;
  bool merge_equal_values_;
  TempDir dir_;
  std::unique_ptr<Db> db_[kReplicas];
  std::string site_[kReplicas];
  std::vector<ModelReplica> model_;
  int64_t last_real_[kReplicas][kReplicas] = {};
  int64_t last_model_[kReplicas][kReplicas] = {};
  std::vector<Batch> batches_;
};

Error World::Setup() {
  for (int i = 0; i < kReplicas; ++i) {
    db_[i] = std::make_unique<Db>(dir_.File(absl::StrCat(kNames[i], ".db")), true, "PRAGMA synchronous = OFF");
    if (!db_[i]->loaded()) return absl::StrCat("loading the extension failed: ", db_[i]->load_error());
    if (Error e = Exec(*db_[i], kSchema)) return e;
    Rows rows;
    if (Error e = Query(db_[i]->get(), "SELECT crsql_site_id()", {}, &rows)) return e;
    if (rows.size() != 1 || rows[0][0].type != ValueType::kBlob || rows[0][0].bytes.size() != 16) {
      return "crsql_site_id() is not a 16-byte blob";
    }
    site_[i] = rows[0][0].bytes;
    model_.emplace_back(TableDefs(), site_[i]);
    if (merge_equal_values_) {
      if (Error e = Query(db_[i]->get(), "SELECT crsql_config_set('merge-equal-values', 1)", {})) return e;
      model_.back().set_merge_equal_values(true);
    }
  }
  return std::nullopt;
}

Error World::Run(const std::vector<Step>& steps, std::vector<std::string>* trace) {
  if (Error e = Setup()) return absl::StrCat("setup: ", *e);
  for (size_t i = 0; i < steps.size(); ++i) {
    std::string note;
    Error e = Do(static_cast<int>(i), steps[i], &note);
    std::string line = absl::StrCat(i, ": ", Describe(steps[i]));
    if (!note.empty()) absl::StrAppend(&line, "  [", note, "]");
    trace->push_back(std::move(line));
    if (e) return absl::StrCat("step ", i, " (", Describe(steps[i]), "): ", *e);
  }
  return Final(trace);
}

Error World::Do(int index, const Step& step, std::string* note) {
  bool changed = false;
  switch (step.kind) {
    case Step::Kind::kLocal: return Local(step.to, step.stmts);
    case Step::Kind::kSync: return Sync(step.from, step.to, false, index, &changed, note);
    case Step::Kind::kFullSync: return Sync(step.from, step.to, true, index, &changed, note);
    case Step::Kind::kRepeat: return Repeat(step.to, step.back, note);
  }
  return std::nullopt;
}

Error World::Local(int r, const std::vector<Stmt>& stmts) {
  std::string sql = LocalSql(stmts);
  if (Error e = Exec(*db_[r], sql)) {
    db_[r]->Try("ROLLBACK");
    return e;
  }
  ModelReplica& m = model_[r];
  m.Begin();
  for (const Stmt& s : stmts) ApplyStmt(m, s);
  m.Commit();
  return Check(r);
}

Error World::Sync(int from, int to, bool full, int step, bool* changed, std::string* note) {
  if (mode_ == Mode::kEngineToC && to == 2) return SyncEngine(from, to, step, changed, note);
  return SyncLoop(from, to, full, step, changed, note);
}

Error World::SyncLoop(int from, int to, bool full, int step, bool* changed, std::string* note) {
  if (full) {
    last_real_[from][to] = 0;
    last_model_[from][to] = 0;
  }
  Batch batch;
  batch.from = from;
  batch.to = to;
  batch.step = step;
  if (Error e = Query(db_[from]->get(), kSelectChanges, {Value::Integer(last_real_[from][to]), Value::Blob(site_[to])},
                      &batch.rows)) {
    return e;
  }
  batch.model = model_[from].Changes(last_model_[from][to], site_[to]);
  std::vector<Change> sent;
  for (const auto& r : batch.rows) {
    if (r.size() != 9 || r[0].type != ValueType::kText || r[1].type != ValueType::kBlob ||
        r[2].type != ValueType::kText || r[4].type != ValueType::kInteger || r[5].type != ValueType::kInteger ||
        r[6].type != ValueType::kBlob || r[7].type != ValueType::kInteger || r[8].type != ValueType::kInteger) {
      return absl::StrCat("crsql_changes on ", kNames[from], " returned a row of the wrong types: ", RowText(r));
    }
    sent.push_back(RowToChange(r));
  }
  std::string diff = DiffBatches(sent, batch.model, site_);
  if (!diff.empty()) {
    return absl::StrCat("the batch ", kNames[from], " sends (db_version > ", last_real_[from][to],
                        ") is not what the model sends:\n", diff);
  }
  *note = absl::StrCat(sent.size(), " changes");
  for (const Change& c : sent) last_real_[from][to] = std::max(last_real_[from][to], c.db_version);
  for (const Change& c : batch.model) last_model_[from][to] = std::max(last_model_[from][to], c.db_version);
  // The same changes: the model merges them in crlog's order, since what
  // crsql_rows_impacted() counts depends on it (a row's '-1' entry before or
  // after the cells that also bring it back).
  batch.model = std::move(sent);
  if (Error e = ApplyRows(to, batch.rows, batch.model, changed)) return e;
  batches_.push_back(std::move(batch));
  return Check(to);
}

Error World::ApplyRows(int to, const Rows& rows, const std::vector<Change>& model, bool* changed) {
  ModelReplica& m = model_[to];
  m.Begin();
  int64_t want_impacted = 0;
  for (const Change& c : model) want_impacted += m.Merge(c) ? 1 : 0;
  m.Commit();
  *changed = want_impacted > 0;
  if (rows.empty()) return std::nullopt;

  Db& db = *db_[to];
  int64_t imports_before = 0, imports_after = 0;
  const std::string count_imports = "SELECT count(*) FROM crlog_events WHERE kind = 'import'";
  if (Error e = QueryInt(db.get(), count_imports, {}, &imports_before)) return e;
  if (Error e = Exec(db, "BEGIN")) return e;
  for (const auto& r : rows) {
    if (Error e = Query(db.get(), "INSERT INTO crsql_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", r)) {
      db.Try("ROLLBACK");
      return e;
    }
  }
  int64_t impacted = 0;
  if (Error e = QueryInt(db.get(), "SELECT crsql_rows_impacted()", {}, &impacted)) {
    db.Try("ROLLBACK");
    return e;
  }
  if (Error e = Exec(db, "COMMIT")) {
    db.Try("ROLLBACK");
    return e;
  }
  if (Error e = QueryInt(db.get(), count_imports, {}, &imports_after)) return e;
  int64_t impacted_after = 0, db_version = 0, max_incoming = 0;
  if (Error e = QueryInt(db.get(), "SELECT crsql_rows_impacted()", {}, &impacted_after)) return e;
  if (Error e = QueryInt(db.get(), "SELECT crsql_db_version()", {}, &db_version)) return e;
  for (const auto& r : rows) max_incoming = std::max(max_incoming, r[5].integer);
  if (impacted != want_impacted) {
    return absl::StrCat("crsql_rows_impacted() is ", impacted, " on ", kNames[to], ", the model says ", want_impacted,
                        " of the ", rows.size(), " changes change something");
  }
  if (impacted_after != 0) {
    return absl::StrCat("crsql_rows_impacted() is ", impacted_after, " on ", kNames[to], " after COMMIT, want 0");
  }
  if (want_impacted > 0 && db_version < max_incoming) {
    return absl::StrCat("crsql_db_version() on ", kNames[to], " is ", db_version, " after a merge of changes up to ",
                        "db_version ", max_incoming, "; the next local commit must be above every version seen");
  }
  int64_t want_imports = want_impacted > 0 ? 1 : 0;
  if (imports_after - imports_before != want_imports) {
    return absl::StrCat("the merge added ", imports_after - imports_before, " import events on ", kNames[to],
                        ", want ", want_imports, " (", want_impacted, " changes accepted)");
  }
  return std::nullopt;
}

Error World::SyncEngine(int from, int to, int step, bool* changed, std::string* note) {
  Batch batch;
  batch.from = from;
  batch.to = to;
  batch.step = step;
  batch.engine = true;
  Rows rows;
  if (Error e = Query(db_[from]->get(), "SELECT crlog_export()", {}, &rows)) return e;
  if (rows.size() != 1 || rows[0][0].type != ValueType::kBlob) return "crlog_export() did not return a blob";
  batch.bundle = rows[0][0];
  batch.model = model_[from].Changes(0);
  int64_t added = 0;
  if (Error e = ApplyBundle(to, batch.bundle, batch.model, false, changed, &added)) return e;
  *note = absl::StrCat("bundle of ", batch.bundle.bytes.size(), " bytes, ", added, " events added");
  // Applying the same bundle again adds nothing.
  bool again_changed = false;
  int64_t again = 0;
  if (Error e = ApplyBundle(to, batch.bundle, {}, true, &again_changed, &again)) {
    return absl::StrCat("applying the same bundle a second time: ", *e);
  }
  *changed = *changed || added > 0;
  batches_.push_back(std::move(batch));
  return Check(to);
}

Error World::ApplyBundle(int to, const Value& bundle, const std::vector<Change>& model, bool expect_nothing_new,
                         bool* changed, int64_t* added) {
  ModelReplica& m = model_[to];
  m.Begin();
  bool any = false;
  for (const Change& c : model) any = m.Merge(c) || any;
  m.Commit();
  *changed = any;
  if (Error e = QueryInt(db_[to]->get(), "SELECT crlog_apply(?)", {bundle}, added)) return e;
  if (expect_nothing_new && *added != 0) {
    return absl::StrCat("crlog_apply of a bundle ", kNames[to], " already applied added ", *added, " events");
  }
  return std::nullopt;
}

Error World::Repeat(int to, int back, std::string* note) {
  std::vector<const Batch*> got;
  for (const Batch& b : batches_) {
    if (b.to == to) got.push_back(&b);
  }
  if (got.empty()) {
    *note = "nothing to repeat";
    return std::nullopt;
  }
  const Batch& b = *got[got.size() - 1 - static_cast<size_t>(back) % got.size()];
  *note = absl::StrCat("the batch ", kNames[b.from], " -> ", kNames[b.to], " of step ", b.step);
  bool changed = false;
  if (b.engine) {
    int64_t added = 0;
    if (Error e = ApplyBundle(to, b.bundle, b.model, true, &changed, &added)) return e;
  } else {
    if (Error e = ApplyRows(to, b.rows, b.model, &changed)) return e;
  }
  return Check(to);
}

Error World::ReadTables(int r, Tables* out) {
  sqlite3* db = db_[r]->get();
  Rows rows;
  if (Error e = Query(db, "SELECT id, a, b, c FROM t", {}, &rows)) return e;
  auto& t = (*out)["t"];
  for (auto& row : rows) t[schema::PackColumns({row[0]})] = {row[1], row[2], row[3]};
  rows.clear();
  if (Error e = Query(db, "SELECT x, y FROM tags", {}, &rows)) return e;
  auto& tags = (*out)["tags"];
  for (auto& row : rows) tags[schema::PackColumns({row[0], row[1]})] = {};
  return std::nullopt;
}

Error World::ReadChanges(int r, ChangeMap* out) {
  Rows rows;
  if (Error e = Query(db_[r]->get(), "SELECT \"table\", pk, cid, val, col_version, cl, site_id FROM crsql_changes", {},
                      &rows)) {
    return e;
  }
  for (auto& row : rows) {
    ChangeKey key{row[0].bytes, row[1].bytes, row[2].bytes};
    if (out->count(key)) return absl::StrCat("crsql_changes lists ", DescribeKey(key), " twice");
    (*out)[key] = ChangeState{row[3], row[4].integer, row[5].integer, row[6].bytes};
  }
  return std::nullopt;
}

ChangeMap ModelChanges(const ModelReplica& m) {
  ChangeMap out;
  for (const Change& c : m.Changes(0)) out[{c.table, c.pk, c.cid}] = ChangeState{c.val, c.col_version, c.cl, c.site};
  return out;
}

Error World::Check(int r) {
  Tables tables;
  if (Error e = ReadTables(r, &tables)) return e;
  std::string diff = DiffTables(tables, model_[r].LiveTables(), absl::StrCat("crlog ", kNames[r]), "model");
  if (!diff.empty()) return absl::StrCat("the tables of ", kNames[r], " differ from the model:\n", diff);
  ChangeMap changes;
  if (Error e = ReadChanges(r, &changes)) return e;
  diff = DiffChanges(changes, ModelChanges(model_[r]), site_);
  if (!diff.empty()) return absl::StrCat("crsql_changes of ", kNames[r], " differs from the model:\n", diff);
  return std::nullopt;
}

Error World::Final(std::vector<std::string>* trace) {
  // Every pair, until a whole round changes nothing.
  std::vector<std::pair<int, int>> pairs;
  for (int from = 0; from < kReplicas; ++from) {
    for (int to = 0; to < kReplicas; ++to) {
      if (from != to) pairs.emplace_back(from, to);
    }
  }
  int step = 1000;
  bool quiet = false;
  for (int round = 0; round < 10 && !quiet; ++round) {
    quiet = true;
    for (auto [from, to] : pairs) {
      bool changed = false;
      std::string note;
      Error e = Sync(from, to, false, step, &changed, &note);
      trace->push_back(absl::StrCat("final round ", round, ": sync ", kNames[from], " -> ", kNames[to], "  [", note,
                                    "]"));
      if (e) return absl::StrCat("final round ", round, " (sync ", kNames[from], " -> ", kNames[to], "): ", *e);
      quiet = quiet && !changed;
      ++step;
    }
  }
  if (!quiet) return "the final all-pairs sync did not become quiet in 10 rounds";
  // A full resend after convergence changes nothing.
  for (auto [from, to] : pairs) {
    bool changed = false;
    std::string note;
    Error e = Sync(from, to, true, step++, &changed, &note);
    trace->push_back(absl::StrCat("final: full resend ", kNames[from], " -> ", kNames[to], "  [", note, "]"));
    if (e) return absl::StrCat("final full resend ", kNames[from], " -> ", kNames[to], ": ", *e);
    if (changed) {
      return absl::StrCat("final full resend ", kNames[from], " -> ", kNames[to], " changed something after the ",
                          "replicas had converged");
    }
  }
  // The model converged, and so did the replicas.
  Tables first;
  if (Error e = ReadTables(0, &first)) return e;
  for (int r = 1; r < kReplicas; ++r) {
    std::string diff = DiffTables(model_[r].LiveTables(), model_[0].LiveTables(), absl::StrCat("model ", kNames[r]),
                                  "model A");
    if (!diff.empty()) return absl::StrCat("the MODEL did not converge (a bug in the test):\n", diff);
    Tables other;
    if (Error e = ReadTables(r, &other)) return e;
    diff = DiffTables(other, first, absl::StrCat("crlog ", kNames[r]), "crlog A");
    if (!diff.empty()) return absl::StrCat("the replicas did not converge:\n", diff);
  }
  for (int r = 0; r < kReplicas; ++r) {
    if (Error e = Check(r)) return absl::StrCat("after convergence: ", *e);
  }
  // crsql_changes agree too, but for db_version and seq, and for sites where
  // two equal writes met: the '-1' entries of rows that came to life (or
  // died) on two replicas at the same causal length, and equal values
  // unless merge-equal-values picks one.
  ChangeMap reference;
  if (Error e = ReadChanges(0, &reference)) return e;
  for (int r = 1; r < kReplicas; ++r) {
    ChangeMap other;
    if (Error e = ReadChanges(r, &other)) return e;
    for (auto& [k, state] : other) {
      auto it = reference.find(k);
      if (it == reference.end() || (merge_equal_values_ && std::get<2>(k) != "-1")) continue;
      if (state.val == it->second.val && state.col_version == it->second.col_version && state.cl == it->second.cl) {
        state.site = it->second.site;
      }
    }
    std::string diff = DiffChanges(other, reference, site_);
    if (!diff.empty()) {
      return absl::StrCat("after convergence crsql_changes of ", kNames[r], " (\"crlog\") differs from A's (\"model\"):\n",
                          diff);
    }
  }
  return std::nullopt;
}

// --- Driver ------------------------------------------------------------------------------

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoll(v, nullptr, 10);
}

Error RunOnce(Options options, const std::vector<Step>& steps, std::vector<std::string>* trace) {
  World world(options);
  return world.Run(steps, trace);
}

// Drops steps while the history still fails (halving chunks, then single
// steps, then single statements of transactions), within a budget of runs
// and time.
std::vector<Step> Shrink(Options options, std::vector<Step> steps) {
  auto start = std::chrono::steady_clock::now();
  int runs = 0;
  auto out_of_budget = [&] {
    return runs >= 400 || std::chrono::steady_clock::now() - start > std::chrono::seconds(60);
  };
  for (size_t chunk = std::max<size_t>(steps.size() / 2, 1); chunk >= 1 && !out_of_budget(); chunk /= 2) {
    for (size_t i = 0; i < steps.size() && !out_of_budget();) {
      std::vector<Step> candidate;
      for (size_t j = 0; j < steps.size(); ++j) {
        if (j < i || j >= i + chunk) candidate.push_back(steps[j]);
      }
      std::vector<std::string> trace;
      ++runs;
      if (RunOnce(options, candidate, &trace)) {
        steps = std::move(candidate);
      } else {
        i += chunk;
      }
    }
    if (chunk == 1) break;
  }
  // Then single statements of the transactions left.
  for (size_t i = 0; i < steps.size() && !out_of_budget(); ++i) {
    for (size_t j = 0; steps[i].stmts.size() > 1 && j < steps[i].stmts.size() && !out_of_budget();) {
      std::vector<Step> candidate = steps;
      candidate[i].stmts.erase(candidate[i].stmts.begin() + static_cast<std::ptrdiff_t>(j));
      std::vector<std::string> trace;
      ++runs;
      if (RunOnce(options, candidate, &trace)) {
        steps = std::move(candidate);
      } else {
        ++j;
      }
    }
  }
  return steps;
}

void RunSeeds(Options options) {
  const test_support::Seeds seeds(
      {"CRLOG_SEED", "CRLOG_ROUNDS", test_support::SeedEnv::FirstAlone::kRunsOneUnlessCounted}, 1, 20);
  int steps_per_seed = static_cast<int>(EnvInt("CRLOG_STEPS", 60));
  bool shrink = EnvInt("CRLOG_SHRINK", 1) != 0;
  int failures = 0;
  for (uint64_t seed : seeds) {
    if (failures >= 3) break;
    std::vector<Step> steps = Generate(seed, steps_per_seed);
    std::vector<std::string> trace;
    Error err = RunOnce(options, steps, &trace);
    if (!err) continue;
    ++failures;
    std::string report = absl::StrCat("seed ", seed, " failed (rerun: CRLOG_SEED=", seed, "):\n", *err, "\n");
    if (shrink && failures == 1) {
      std::vector<Step> small = Shrink(options, steps);
      std::vector<std::string> small_trace;
      Error small_err = RunOnce(options, small, &small_trace);
      if (small_err) {
        absl::StrAppend(&report, "\nshrunk to ", small.size(), " of ", steps.size(), " steps, which fail with:\n",
                        *small_err, "\nshrunk history:\n  ", absl::StrJoin(small_trace, "\n  "), "\n");
        ADD_FAILURE() << report;
        continue;
      }
    }
    absl::StrAppend(&report, "history:\n  ", absl::StrJoin(trace, "\n  "), "\n");
    ADD_FAILURE() << report;
  }
}

TEST(ConvergenceTest, ChangesLoopReplicasConvergeToTheModel) { RunSeeds({Mode::kChangesLoop, false}); }

TEST(ConvergenceTest, ChangesLoopWithMergeEqualValuesConvergesToTheModel) {
  RunSeeds({Mode::kChangesLoop, true});
}

TEST(ConvergenceTest, EnginePathReplicaConvergesWithTheChangesLoop) { RunSeeds({Mode::kEngineToC, false}); }

}  // namespace
}  // namespace crlog::convergence
