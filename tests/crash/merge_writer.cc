// crlog_crash_merger: the child the merge crash tests kill
// (tests/crash/merge_crash_test.cc). Same command line and report protocol
// as crlog_crash_writer (tests/crash/writer.cc), so the harness runs it
// through WriterOptions::program:
//
//   crlog_crash_merger DB EXTENSION SEED MODE ACTION [LIMIT [ID_BASE]]
//
// It opens DB through the crash tests' VFS and loads crlog, acknowledges 0
// on fd 3 (ready: the parent arms its kill from here), runs ACTION, and
// acknowledges 1 when its COMMIT (or crlog_apply) returned OK. Before each
// statement it reports "." ("c" before the COMMIT, and before crlog_apply,
// which commits by itself), and the VFS reports each write, sync and
// journal deletion, as the writer does. ACTION:
//   merge  BEGIN; one INSERT INTO crsql_changes per row of DB.batch (a plain
//          SQLite file, table changes(tbl, pk, cid, val, col_version,
//          db_version, site_id, cl, seq)); COMMIT.
//   mixed  the same, with local writes: in the middle of the batch, txlog
//          row 9000001 and pairs row ('mixed', 1) inserted; after it, items
//          updated (rows the batch has just merged).
//   apply  SELECT crlog_apply(bundle), the bundle read from DB.bundle.
//   apply-mixed  BEGIN; SELECT crlog_apply(bundle); local writes as in
//          mixed; COMMIT.
// Seeds with SEED % 3 == 2 checkpoint a WAL every 8 pages. Named crash
// points come from the environment (engine/replica/crash_point.h). Exit status: 0
// done, 2 usage, 3 an unexpected error (described on stderr).
#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tests/crash/test_vfs.h"
#include "tests/crash/workload.h"

namespace {

void Report(const std::string& line) { crlog::crash::ReportToParent(line, "merger"); }

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "merger: %s\n", what.c_str());
  std::exit(3);
}

// One row of the batch: nine values, owned.
using Change = std::vector<sqlite3_value*>;

std::vector<Change> ReadBatch(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Fail("opening the batch " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT tbl, pk, cid, val, col_version, db_version, site_id, cl, seq FROM changes "
                         "ORDER BY rowid",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    Fail(std::string("reading the batch: ") + sqlite3_errmsg(db));
  }
  std::vector<Change> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Change row;
    for (int i = 0; i < 9; ++i) row.push_back(sqlite3_value_dup(sqlite3_column_value(stmt, i)));
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) Fail(std::string("reading the batch: ") + sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void Step(sqlite3* db, const std::string& sql, char step = '.') {
  Report(std::string(1, step) + "\n");
  std::fprintf(stderr, "%s;\n", sql.c_str());
  if (std::string msg = crlog::crash::ExecSql(db, sql); !msg.empty()) Fail(sql + ": " + msg);
}

// Local writes, to rows the batch (the bundle) does not have.
void LocalInserts(sqlite3* db) {
  Step(db, "INSERT INTO txlog(id, n) VALUES (9000001, -7)");
  Step(db, "INSERT OR REPLACE INTO pairs(k, j, v) VALUES ('mixed', 1, 'local')");
}

// Local writes over cells a merge has just written.
void LocalUpdates(sqlite3* db) { Step(db, "UPDATE items SET a = coalesce(a, 0) - 1000, b = 'local' WHERE id % 5 = 0"); }

void Merge(sqlite3* db, const std::vector<Change>& batch, bool mixed) {
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO crsql_changes(\"table\", pk, cid, val, col_version, db_version, site_id, cl, "
                         "seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         -1, &insert, nullptr) != SQLITE_OK) {
    Fail(std::string("preparing the INSERT INTO crsql_changes: ") + sqlite3_errmsg(db));
  }
  Step(db, "BEGIN");
  for (size_t r = 0; r < batch.size(); ++r) {
    if (mixed && r == batch.size() / 2) {
      LocalInserts(db);
      LocalUpdates(db);  // later changes of the batch merge over some of these cells
    }
    Report(".\n");
    for (int i = 0; i < 9; ++i) sqlite3_bind_value(insert, i + 1, batch[r][static_cast<size_t>(i)]);
    if (sqlite3_step(insert) != SQLITE_DONE) {
      Fail("INSERT INTO crsql_changes, batch row " + std::to_string(r) + ": " + sqlite3_errmsg(db));
    }
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  std::fprintf(stderr, "-- merged %zu changes\n", batch.size());
  // And local writes over cells just merged.
  if (mixed) LocalUpdates(db);
  Step(db, "COMMIT", 'c');
}

// `step`: what to report before crlog_apply ('c' when it commits by itself).
void Apply(sqlite3* db, const std::string& path, char step) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("reading the bundle " + path);
  std::string bundle((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT crlog_apply(?)", -1, &stmt, nullptr) != SQLITE_OK) {
    Fail(std::string("preparing crlog_apply: ") + sqlite3_errmsg(db));
  }
  sqlite3_bind_blob64(stmt, 1, bundle.data(), bundle.size(), SQLITE_STATIC);
  Report(std::string(1, step) + "\n");
  std::fprintf(stderr, "SELECT crlog_apply(<%zu bytes>);\n", bundle.size());
  if (sqlite3_step(stmt) != SQLITE_ROW) Fail(std::string("crlog_apply: ") + sqlite3_errmsg(db));
  std::fprintf(stderr, "-- crlog_apply added %lld events\n", static_cast<long long>(sqlite3_column_int64(stmt, 0)));
  sqlite3_finalize(stmt);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace crlog::crash;
  if (argc < 6 || argc > 8) {
    std::fprintf(stderr, "usage: %s DB EXTENSION SEED MODE merge|mixed|apply|apply-mixed [LIMIT [ID_BASE]]\n", argv[0]);
    return 2;
  }
  const std::string db_path = argv[1];
  const std::string extension = argv[2];
  const uint64_t seed = std::strtoull(argv[3], nullptr, 10);
  const Mode* mode = FindMode(argv[4]);
  const std::string action = argv[5];
  if (mode == nullptr) {
    std::fprintf(stderr, "merger: unknown mode '%s'\n", argv[4]);
    return 2;
  }
  if (action != "merge" && action != "mixed" && action != "apply" && action != "apply-mixed") {
    std::fprintf(stderr, "merger: unknown action '%s'\n", action.c_str());
    return 2;
  }

  std::vector<Change> batch;
  if (action == "merge" || action == "mixed") batch = ReadBatch(db_path + ".batch");

  RegisterTestVfs();
  std::string error;
  OpenOptions open;
  open.vfs = kTestVfs;
  if (seed % 3 == 2) open.wal_autocheckpoint = 8;
  sqlite3* db = OpenWithCrlog(db_path, *mode, extension, &error, open);
  if (db == nullptr) Fail(error);
  SetIoObserver([](char op) { Report(std::string(1, op) + "\n"); });
  Report("0\n");

  if (action == "apply") {
    Apply(db, db_path + ".bundle", 'c');
  } else if (action == "apply-mixed") {
    Step(db, "BEGIN");
    Apply(db, db_path + ".bundle", '.');
    LocalInserts(db);
    LocalUpdates(db);
    Step(db, "COMMIT", 'c');
  } else {
    Merge(db, batch, action == "mixed");
  }
  Report("1\n");
  SetIoObserver(nullptr);
  for (Change& row : batch) {
    for (sqlite3_value* v : row) sqlite3_value_free(v);
  }
  if (sqlite3_close(db) != SQLITE_OK) Fail("closing the database failed");
  return 0;
}
