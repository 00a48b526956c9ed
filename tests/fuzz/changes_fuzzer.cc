// Fuzz target: INSERT INTO crsql_changes, the extension's merge path from SQL,
// mixed with local writes, transactions, savepoints, in-transaction reads of
// crsql_changes and settings (the input format: changes_input.h). Each input
// gets a fresh copy of one replica (a database file and its log, in the
// scratch directory) whose tables are those of FuzzTables().
//
// Invariants, for every input:
// - no crash, out-of-bounds access or undefined behaviour in crlog;
// - every statement either succeeds or fails with an error message;
// - a transaction in which a crsql_changes row was refused cannot commit
//   (docs/sql.md, "Bad input is all or nothing");
// - afterwards the database can still be read: crsql_changes, every table,
//   PRAGMA integrity_check;
// - sending crsql_changes back to the replica that produced it is accepted
//   and changes nothing (crsql_rows_impacted() = 0, the same crsql_changes);
// - once closed, the database verifies against its log (engine/
//   verify_database.h): the log is sound and the tables are its fold.
//
// The fuzzer links the extension in and registers its entry point as an
// auto-extension; the corpus replay of the ordinary build loads crsqlite.so
// (CRLOG_EXTENSION) as applications do.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/history/verify_database.h"
#include "crlog/value.h"
#include "schema/packed_pk.h"
#include "tests/fuzz/changes_input.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/scratch_dir.h"

#ifndef CRLOG_EXTENSION
extern "C" int sqlite3_crsqlite_init(sqlite3* db, char** err, const sqlite3_api_routines* api);
#endif

namespace crlog::fuzz {
namespace {

// Bounds the work of one input, so every input runs in milliseconds.
constexpr int kMaxOps = 256;

using Row = std::vector<Value>;

// CRLOG_FUZZ_VERBOSE=1 prints every statement and its outcome: how to read
// what a crashing input did.
bool Verbose() {
  static const bool verbose = std::getenv("CRLOG_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

void Bind(sqlite3_stmt* stmt, int i, const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: sqlite3_bind_int64(stmt, i, v.integer); break;
    case ValueType::kReal: sqlite3_bind_double(stmt, i, v.real); break;
    case ValueType::kText:
      sqlite3_bind_text(stmt, i, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      break;
    case ValueType::kBlob:
      sqlite3_bind_blob(stmt, i, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      break;
    case ValueType::kNull: sqlite3_bind_null(stmt, i); break;
  }
}

Value Column(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER: return Value::Integer(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT: return Value::Real(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return Value::Text(std::string_view(p, sqlite3_column_bytes(stmt, i)));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      return Value::Blob(std::string_view(p, sqlite3_column_bytes(stmt, i)));
    }
    default: return Value::Null();
  }
}

class Replica {
 public:
  explicit Replica(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    CRLOG_FUZZ_CHECK(rc == SQLITE_OK, absl::StrCat("opening ", path, ": ", sqlite3_errstr(rc)));
#ifdef CRLOG_EXTENSION
    sqlite3_enable_load_extension(db_, 1);
    char* err = nullptr;
    rc = sqlite3_load_extension(db_, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err);
    CRLOG_FUZZ_CHECK(rc == SQLITE_OK, absl::StrCat("loading ", CRLOG_EXTENSION, ": ", err ? err : ""));
    sqlite3_free(err);
#endif
  }
  ~Replica() { Close(); }
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  void Close() {
    if (db_ == nullptr) return;
    int rc = sqlite3_close(db_);
    CRLOG_FUZZ_CHECK(rc == SQLITE_OK, absl::StrCat("closing the database: ", sqlite3_errmsg(db_)));
    db_ = nullptr;
  }

  // Runs one statement to completion. Returns "" or its error, which must
  // say something.
  std::string Run(const std::string& sql, const std::vector<Value>& params = {}, std::vector<Row>* rows = nullptr) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    CRLOG_FUZZ_CHECK(rc == SQLITE_OK, absl::StrCat("preparing ", sql, ": ", sqlite3_errmsg(db_)));
    for (size_t i = 0; i < params.size(); ++i) Bind(stmt, static_cast<int>(i + 1), params[i]);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (rows == nullptr) continue;
      Row& row = rows->emplace_back();
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) row.push_back(Column(stmt, c));
    }
    std::string error;
    if (rc != SQLITE_DONE) {
      error = sqlite3_errmsg(db_);
      CRLOG_FUZZ_CHECK(!error.empty() && error != "not an error",
                       absl::StrCat(sql, " failed (", sqlite3_errstr(rc), ") without saying why"));
    }
    sqlite3_finalize(stmt);
    if (Verbose()) {
      std::fprintf(stderr, "%s [%s] -> %s\n", sql.c_str(), ValuesToString(params).c_str(),
                   error.empty() ? "ok" : error.c_str());
    }
    return error;
  }

  // Runs a statement that must succeed.
  std::vector<Row> Must(const std::string& sql, const std::vector<Value>& params = {}) {
    std::vector<Row> rows;
    std::string error = Run(sql, params, &rows);
    CRLOG_FUZZ_CHECK(error.empty(), absl::StrCat(sql, ": ", error));
    return rows;
  }

  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  sqlite3* db_ = nullptr;
};

constexpr char kInsertChange[] =
    "INSERT INTO crsql_changes(\"table\", pk, cid, val, col_version, db_version, site_id, cl, seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr char kSelectChanges[] =
    "SELECT \"table\", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes";

// Interprets one input against `db` (changes_input.h).
class Interpreter {
 public:
  Interpreter(Replica* db, std::string_view input, Value local_site)
      : db_(db), in_(input), local_site_(std::move(local_site)) {}

  void Run() {
    for (int i = 0; i < kMaxOps && !in_.done(); ++i) Step();
    if (db_->in_transaction()) Commit();
    if (db_->in_transaction()) db_->Must("ROLLBACK");
  }

 private:
  void Step() {
    const uint8_t code = in_.Byte() % 16;
    switch (code) {
      case kBegin: db_->Run("BEGIN"); break;
      case kCommit: Commit(); break;
      case kRollback: db_->Run("ROLLBACK"); break;
      case kSavepoint: db_->Run(absl::StrCat("SAVEPOINT s", in_.Byte() % 3)); break;
      case kRollbackTo: db_->Run(absl::StrCat("ROLLBACK TO s", in_.Byte() % 3)); break;
      case kRelease: End(absl::StrCat("RELEASE s", in_.Byte() % 3)); break;
      case kLocalWrite: LocalWrite(); break;
      case kReadChanges: db_->Run(absl::StrCat(kSelectChanges, " WHERE db_version > ?"), {in_.AnyValue()}); break;
      case kNextDbVersion: db_->Run("SELECT crsql_next_db_version(?)", {in_.AnyValue()}); break;
      case kConfigSet: {
        static const char* const kNames[] = {"merge-equal-values", "crlog-strict-columns", "crlog-max-event-bytes"};
        const char* name = kNames[in_.Byte() % 3];
        db_->Run("SELECT crsql_config_set(?, ?)", {Value::Text(name), in_.AnyValue()});
        break;
      }
      default: Change(); break;
    }
    if (!db_->in_transaction()) poisoned_ = false;
  }

  void Commit() { End("COMMIT"); }

  // COMMIT, or RELEASE of what may be the savepoint that opened the
  // transaction: with a refused change in the transaction it must fail, and
  // failing it rolls everything back (after a failed RELEASE SQLite keeps a
  // transaction open, but empty).
  void End(const std::string& sql) {
    const bool poisoned = poisoned_ && db_->in_transaction();
    std::string error = db_->Run(sql);
    if (!poisoned) return;
    if (error.empty()) {
      CRLOG_FUZZ_CHECK(db_->in_transaction(), absl::StrCat("a transaction that refused a crsql_changes row ",
                                                           "committed at ", sql));
      return;
    }
    poisoned_ = false;
    if (sql == "COMMIT") CRLOG_FUZZ_CHECK(!db_->in_transaction(), "a refused COMMIT left its transaction open");
  }

  void LocalWrite() {
    const FuzzTable& t = FuzzTables()[in_.Byte() % 3];
    std::vector<Value> pk;
    switch (in_.Byte() % 3) {
      case 0: {
        std::vector<Value> values;
        for (size_t i = 0; i < t.columns.size(); ++i) values.push_back(in_.AnyValue());
        std::vector<std::string> marks(t.columns.size(), "?");
        db_->Run(absl::StrCat("INSERT OR REPLACE INTO ", t.name, " VALUES (", absl::StrJoin(marks, ", "), ")"),
                 values);
        break;
      }
      case 1: {
        const char* column = t.columns[in_.Byte() % t.columns.size()];
        std::vector<Value> values = {in_.AnyValue()};
        for (size_t i = 0; i < t.pk_columns; ++i) values.push_back(in_.AnyValue());
        db_->Run(absl::StrCat("UPDATE ", t.name, " SET ", column, " = ? WHERE ", PkWhere(t, 2)), values);
        break;
      }
      default: {
        std::vector<Value> values;
        for (size_t i = 0; i < t.pk_columns; ++i) values.push_back(in_.AnyValue());
        db_->Run(absl::StrCat("DELETE FROM ", t.name, " WHERE ", PkWhere(t, 1)), values);
        break;
      }
    }
  }

  static std::string PkWhere(const FuzzTable& t, int first_param) {
    std::vector<std::string> terms;
    for (size_t i = 0; i < t.pk_columns; ++i) {
      terms.push_back(absl::StrCat(t.columns[i], " = ?", first_param + static_cast<int>(i)));
    }
    return absl::StrJoin(terms, " AND ");
  }

  void Change() {
    const FuzzTable* table = nullptr;
    Value name;
    const uint8_t t = in_.Byte() % 8;
    if (t <= 2) {
      table = &FuzzTables()[0];
    } else if (t <= 4) {
      table = &FuzzTables()[1];
    } else if (t == 5) {
      table = &FuzzTables()[2];
    }
    if (table != nullptr) {
      name = Value::Text(table->name);
    } else {
      name = Value::Text(t == 6 ? std::string("nope") : in_.Bytes());
    }
    std::vector<Value> row = {name, Pk(), Cid(table), in_.AnyValue(), in_.Counter(), in_.Counter(),
                              Site(), in_.Counter(), in_.Counter()};
    const bool in_transaction = db_->in_transaction();
    std::string error = db_->Run(kInsertChange, row);
    if (!error.empty() && in_transaction && db_->in_transaction()) poisoned_ = true;
  }

  Value Pk() {
    switch (in_.Byte() % 4) {
      case 0:
      case 1: {
        std::vector<Value> values(in_.Byte() % 4);
        for (Value& v : values) v = in_.AnyValue();
        return Value::Blob(schema::PackColumns(values));
      }
      case 2: return Value::Blob(in_.Bytes());
      default: return in_.AnyValue();
    }
  }

  Value Cid(const FuzzTable* table) {
    const uint8_t c = in_.Byte();
    if (c % 8 < 5) {
      if (table == nullptr) return Value::Text("a");
      return Value::Text(table->columns[(c / 8) % table->columns.size()]);
    }
    if (c % 8 == 5) return Value::Text("-1");
    if (c % 8 == 6) return Value::Text(in_.Bytes());
    return in_.AnyValue();
  }

  Value Site() {
    static const std::string kSites[] = {std::string(16, '\x11'), std::string(16, '\x22'), std::string(16, '\xee')};
    const uint8_t s = in_.Byte() % 8;
    if (s <= 2) return Value::Blob(kSites[s]);
    if (s == 3) return local_site_;
    if (s == 4) return Value::Blob(in_.Bytes());
    if (s == 5) return in_.AnyValue();
    return Value::Blob(kSites[0]);
  }

  Replica* db_;
  ChangesReader in_;
  Value local_site_;
  bool poisoned_ = false;
};

// The database after the input: readable, and sending its own changes back
// changes nothing.
void CheckAfter(Replica& db) {
  const std::vector<Row> changes = db.Must(kSelectChanges);
  for (const FuzzTable& t : FuzzTables()) db.Must(absl::StrCat("SELECT * FROM ", t.name));
  const std::vector<Row> integrity = db.Must("PRAGMA integrity_check");
  CRLOG_FUZZ_CHECK(integrity.size() == 1 && integrity[0][0] == Value::Text("ok"), "PRAGMA integrity_check fails");

  db.Must("BEGIN");
  for (const Row& row : changes) {
    std::string error = db.Run(kInsertChange, row);
    CRLOG_FUZZ_CHECK(error.empty(), absl::StrCat("a replica refuses a row of its own crsql_changes (",
                                                 ValueToString(row[0]), ", ", ValueToString(row[1]), ", ",
                                                 ValueToString(row[2]), "): ", error));
  }
  const std::vector<Row> impacted = db.Must("SELECT crsql_rows_impacted()");
  CRLOG_FUZZ_CHECK(impacted[0][0] == Value::Integer(0),
                   absl::StrCat("sending a replica its own crsql_changes changed ", ValueToString(impacted[0][0]),
                                " rows"));
  db.Must("COMMIT");
  CRLOG_FUZZ_CHECK(db.Must(kSelectChanges) == changes, "sending a replica its own crsql_changes changed them");
}

void RemoveDatabase(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal", "-crlog"}) RemoveAll(path + suffix);
}

// The replica every input starts from, made once per process: the tables
// created and replicated. Copying it (the database file and its log's data
// file) is much cheaper than building it, and every input then runs against
// the same site id, so a failure reproduces whatever the site ids' order
// decides.
const std::string& Template() {
  static const std::string* path = [] {
    auto* p = new std::string(ScratchDir() + "/template.db");
    RemoveDatabase(*p);
    Replica db(*p);
    for (const FuzzTable& t : FuzzTables()) {
      db.Must(t.create_sql);
      db.Must("SELECT crsql_as_crr(?)", {Value::Text(t.name)});
    }
    return p;
  }();
  return *path;
}

void CopyTemplate(const std::string& to) {
  namespace fs = std::filesystem;
  const auto overwrite = fs::copy_options::overwrite_existing;
  fs::copy_file(Template(), to, overwrite);
  fs::create_directories(to + "-crlog");
  fs::copy_file(Template() + "-crlog/data.mdb", to + "-crlog/data.mdb", overwrite);
}

}  // namespace
}  // namespace crlog::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
#ifndef CRLOG_EXTENSION
  // SQLite calls auto-extensions with its routines as the third argument.
  sqlite3_auto_extension(reinterpret_cast<void (*)()>(&sqlite3_crsqlite_init));
#endif
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crlog::fuzz;
  const std::string path = ScratchDir() + "/changes.db";
  RemoveDatabase(path);
  CopyTemplate(path);
  {
    Replica db(path);
    const std::vector<Row> site = db.Must("SELECT crsql_site_id()");
    Interpreter(&db, std::string_view(reinterpret_cast<const char*>(data), size), site[0][0]).Run();
    CheckAfter(db);
  }
  auto report = crlog::engine::VerifyDatabase(path);
  CRLOG_FUZZ_CHECK(report.ok(), absl::StrCat("the database does not verify against its log: ",
                                              report.status().ToString()));
  RemoveDatabase(path);
  return 0;
}
