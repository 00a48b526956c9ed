// The crash tests' workload (tests/crash/workload.h).
#include "tests/crash/workload.h"

#include <cstring>

#include <cstdlib>

#include <cerrno>

#include <unistd.h>

#include <cstdio>

namespace crlog::crash {
namespace {

std::string Hex(std::mt19937_64& rng, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out = "X'";
  for (size_t i = 0; i < n; ++i) {
    unsigned byte = static_cast<unsigned>(rng() & 0xff);
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 15]);
  }
  out.push_back('\'');
  return out;
}

std::string S(uint64_t n) { return std::to_string(n); }
std::string S(int64_t n) { return std::to_string(n); }

}  // namespace

const std::vector<Mode>& Modes() {
  static const std::vector<Mode> modes = {
      {"wal-normal", "WAL", "NORMAL"},
      {"wal-full", "WAL", "FULL"},
      {"delete-full", "DELETE", "FULL"},
  };
  return modes;
}

const Mode* FindMode(std::string_view name) {
  for (const Mode& m : Modes()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

std::string ExecSql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return "";
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return msg.empty() ? std::string("error ") + std::to_string(rc) : msg;
}

sqlite3* OpenWithCrlog(const std::string& path, const Mode& mode, const std::string& extension, std::string* error,
                       const OpenOptions& options) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.vfs);
  if (rc != SQLITE_OK) {
    *error = std::string("opening ") + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  std::string pragmas =
      std::string("PRAGMA journal_mode=") + mode.journal_mode + "; PRAGMA synchronous=" + mode.synchronous + ";";
  if (options.wal_autocheckpoint >= 0) {
    pragmas += "PRAGMA wal_autocheckpoint=" + std::to_string(options.wal_autocheckpoint) + ";";
  }
  std::string msg = ExecSql(db, pragmas);
  if (msg.empty()) {
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
    char* err = nullptr;
    if (sqlite3_load_extension(db, extension.c_str(), "sqlite3_crsqlite_init", &err) != SQLITE_OK) {
      msg = std::string("loading crlog: ") + (err ? err : sqlite3_errmsg(db));
      sqlite3_free(err);
    }
  }
  if (!msg.empty()) {
    *error = msg;
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

std::string SetUpTables(sqlite3* db) {
  // Under BEGIN IMMEDIATE: crsql_as_crr writes (it rewrites the triggers even
  // of a replicated table), and a SELECT that starts writing cannot wait for
  // a lock another writer holds; BEGIN IMMEDIATE waits (busy timeout).
  std::string msg = ExecSql(db,
                            "BEGIN IMMEDIATE;"
                            "CREATE TABLE IF NOT EXISTS txlog(id INTEGER PRIMARY KEY NOT NULL, n INTEGER);"
                            "CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY NOT NULL, a INTEGER, b TEXT,"
                            "                                 c BLOB, d REAL);"
                            "CREATE TABLE IF NOT EXISTS pairs(k TEXT NOT NULL, j INTEGER NOT NULL, v,"
                            "                                 PRIMARY KEY(k, j));"
                            "SELECT crsql_as_crr('txlog');"
                            "SELECT crsql_as_crr('items');"
                            "SELECT crsql_as_crr('pairs');"
                            "COMMIT;");
  if (!msg.empty() && !sqlite3_get_autocommit(db)) ExecSql(db, "ROLLBACK");
  return msg;
}

int64_t MaxTxlogId(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM txlog", -1, &stmt, nullptr) != SQLITE_OK) {
    return -1;
  }
  int64_t out = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  return out;
}

int64_t MaxTxlogIdFrom(sqlite3* db, int64_t base) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), ?1) FROM txlog WHERE id > ?1 AND id < ?1 + ?2", -1, &stmt,
                         nullptr) != SQLITE_OK) {
    return -1;
  }
  sqlite3_bind_int64(stmt, 1, base);
  sqlite3_bind_int64(stmt, 2, kIdRange);
  int64_t out = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  return out;
}

Workload::Workload(sqlite3* db, uint64_t seed, int64_t next_number, bool trace)
    : db_(db), rng_(seed), next_(next_number), trace_(trace) {}

bool Workload::Exec(const std::string& sql) {
  if (on_step_) on_step_(sql == "COMMIT" ? 'c' : '.');
  if (trace_) std::fprintf(stderr, "%s;\n", sql.c_str());
  std::string msg = ExecSql(db_, sql);
  if (msg.empty()) return true;
  busy_ = (sqlite3_errcode(db_) & 0xff) == SQLITE_BUSY;
  error_ = sql + ": " + msg;
  return false;
}

bool Workload::ExecFailing(const std::string& sql) {
  if (on_step_) on_step_('.');
  if (trace_) std::fprintf(stderr, "%s; -- must fail\n", sql.c_str());
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return true;
  busy_ = (rc & 0xff) == SQLITE_BUSY;
  error_ = sql + ": expected a constraint failure, got " + sqlite3_errstr(rc);
  return false;
}

bool Workload::RandomOp(int depth) {
  const uint64_t id = Uniform(1, 300);
  const uint64_t span = Uniform(0, 6);
  const std::string key = "'k" + S(Uniform(0, 9)) + "'";
  switch (Uniform(0, depth == 0 ? 15 : 12)) {
    case 0:
    case 1:
      return Exec("INSERT OR REPLACE INTO items(id, a, b, c, d) VALUES (" + S(id) + ", " + S(Uniform(0, 1000)) +
                  ", 'b" + S(Uniform(0, 99)) + "', " + Hex(rng_, Uniform(0, 40)) + ", " + S(Uniform(0, 1000)) + ".5)");
    case 2:
      return Exec("INSERT OR IGNORE INTO items(id, a, b) VALUES (" + S(id) + ", 1, 'm'), (" + S(id + 1) +
                  ", 2, NULL), (" + S(Uniform(1, 300)) + ", 3, 'x')");
    case 3:
      return Exec("UPDATE items SET a = coalesce(a, 0) + 1, b = 'u" + S(Uniform(0, 99)) + "' WHERE id BETWEEN " +
                  S(id) + " AND " + S(id + span));
    case 4:
      return Exec("DELETE FROM items WHERE id BETWEEN " + S(id) + " AND " + S(id + span / 2));
    case 5:
      return Exec("UPDATE OR IGNORE items SET id = " + S(Uniform(1, 300)) + " WHERE id = " + S(id));
    case 6:
      return Exec("INSERT INTO pairs(k, j, v) VALUES (" + key + ", " + S(Uniform(0, 5)) + ", " + S(Uniform(0, 100)) +
                  ") ON CONFLICT(k, j) DO UPDATE SET v = excluded.v");
    case 7:
      return Exec("DELETE FROM pairs WHERE k = " + key);
    case 8:
      // A statement that fails after writing a row: SQLite undoes it.
      return ExecFailing("INSERT INTO pairs(k, j, v) VALUES (" + key + ", " + S(Uniform(6, 9)) +
                         ", 'doomed'), (NULL, 1, 1)");
    case 9:
      return Exec("UPDATE items SET d = coalesce(d, 1) * 2, c = NULL WHERE a % 3 = " + S(Uniform(0, 2)) +
                  " AND id <= 300");
    case 10:
      return Exec("INSERT OR REPLACE INTO pairs(k, j, v) VALUES (" + key + ", " + S(Uniform(0, 5)) + ", " +
                  Hex(rng_, 3) + ")");
    case 11:
      return Exec("UPDATE OR REPLACE items SET id = " + S(Uniform(1, 300)) + ", a = -a WHERE id = " + S(id));
    case 12: {
      // Rare large writes: hundreds of rows, and event groups when the
      // writer runs with a small crlog-max-event-bytes.
      if (!Chance(15)) return Exec("UPDATE pairs SET v = NULL WHERE j = " + S(Uniform(0, 5)));
      const uint64_t lo = Uniform(1000, 1800);
      if (Chance(30)) return Exec("DELETE FROM items WHERE id >= 1000 AND id % 3 = " + S(Uniform(0, 2)));
      return Exec("INSERT OR REPLACE INTO items(id, a, b, c) WITH RECURSIVE r(x) AS (SELECT " + S(lo) +
                  " UNION ALL SELECT x + 1 FROM r WHERE x < " + S(lo + Uniform(50, 300)) +
                  ") SELECT x, x * 7, 'big', CAST(printf('%040d', x * 7919) AS BLOB) FROM r");
    }
    default: {
      // SAVEPOINT, a few writes, then ROLLBACK TO (mostly) or RELEASE.
      const std::string name = "sp" + S(static_cast<uint64_t>(depth));
      if (!Exec("SAVEPOINT " + name)) return false;
      for (uint64_t i = Uniform(1, 3); i > 0; --i) {
        if (!RandomOp(depth + 1)) return false;
      }
      if (Chance(60) && !Exec("ROLLBACK TO " + name)) return false;
      return Exec("RELEASE " + name);
    }
  }
}

Workload::Outcome Workload::Failed() {
  Outcome out;
  if (!sqlite3_get_autocommit(db_)) {
    if (trace_) std::fprintf(stderr, "ROLLBACK;\n");
    ExecSql(db_, "ROLLBACK");
  }
  if (!(concurrent_ && busy_)) out.error = error_;
  return out;
}

Workload::Outcome Workload::RunOne() {
  Outcome out;
  const std::string k = S(next_);
  const uint64_t style = Uniform(0, 99);
  error_.clear();
  busy_ = false;
  if (style < 8) {
    // An autocommit statement that commits: its own transaction.
    bool ok = Chance(50) ? Exec("INSERT INTO txlog(id, n) VALUES (" + k + ", 0)")
                         : Exec("INSERT INTO txlog(id, n) SELECT " + k + ", count(*) FROM items");
    if (!ok) return Failed();
    out.committed = true;
  } else if (style < 12) {
    // An autocommit statement that fails half way: nothing of it stays.
    if (!ExecFailing("INSERT INTO txlog(id, n) VALUES (" + k + ", 1), (" + k + ", 2)")) return Failed();
    return out;
  } else {
    if (!Exec(Chance(50) ? "BEGIN" : "BEGIN IMMEDIATE")) return Failed();
    const uint64_t ops = Uniform(0, 6);
    const uint64_t at = Uniform(0, ops);
    bool ok = true;
    for (uint64_t i = 0; ok && i <= ops; ++i) {
      if (i == at) {
        ok = Exec("INSERT INTO txlog(id, n) VALUES (" + k + ", " + S(ops) + ")");
        if (ok && Chance(20)) ok = Exec("UPDATE txlog SET n = n + 1 WHERE id = " + k);
      }
      if (ok && i < ops) ok = RandomOp(0);
    }
    if (!ok) return Failed();
    if (Chance(8)) {
      if (!Exec("ROLLBACK")) out.error = error_;
      return out;
    }
    if (!Exec("COMMIT")) return Failed();  // a busy COMMIT leaves the transaction open
    out.committed = true;
  }
  out.number = next_++;
  return out;
}

void ReportToParent(const std::string& line, const char* who) {
  constexpr int kAckFd = 3;
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = write(kAckFd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "%s: cannot report '%s' to the parent: %s\n", who, line.c_str(), std::strerror(errno));
      std::exit(3);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace crlog::crash
