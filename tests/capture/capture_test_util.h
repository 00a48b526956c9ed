// Helpers for the capture tests: real database files in a fresh directory,
// connections with the built extension (crsqlite.so) loaded by path, the
// log read back and decoded, and a model of the tables replayed from the
// log's change events, to compare with what SQLite kept.
//
// Reading the log happens in a forked child process. The extension carries
// its own copy of log/ (and its own registry of LMDB environments), so a
// LogStore opened here would be a second MDB_env on the same path in one
// process, which LMDB forbids: closing it drops the process's locks on the
// lock file, and the next process to open the log would reinitialise the
// lock table under the extension's feet. A child process has locks of its
// own and leaves the parent's alone.
#ifndef CRLOG_TESTS_CAPTURE_CAPTURE_TEST_UTIL_H_
#define CRLOG_TESTS_CAPTURE_CAPTURE_TEST_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "log/event.h"
#include "log/hash.h"
#include "crlog/value.h"
#include "tests/support/temp_dir.h"

namespace crlog::capture_test {

// A result column as a Value, and a Value bound to a parameter, with SQLite's
// types kept exactly.
Value ColumnValue(sqlite3_stmt* stmt, int i);
void Bind(sqlite3_stmt* stmt, int i, const Value& v);

// A fresh directory per test (tests/support/temp_dir.h).
using test_support::TempDir;

// One SQLite connection to a database file.
class Db {
 public:
  // Opens `path` (created if missing), runs `before_load` (e.g. a PRAGMA),
  // and, with `load_extension`, loads the built crsqlite.so. load_error()
  // says why loading failed; the connection stays open either way.
  explicit Db(const std::string& path, bool load_extension = true,
              std::string_view before_load = "");
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }
  bool loaded() const { return loaded_; }
  const std::string& load_error() const { return load_error_; }

  // Runs `sql` (any number of statements); "" on success, else SQLite's
  // error message.
  std::string Try(std::string_view sql);
  // Runs `sql`; a failure is a test failure naming the SQL.
  void Exec(std::string_view sql);
  // Every row of the first statement of `sql`, values as they came.
  std::vector<std::vector<Value>> Values(std::string_view sql);
  // Same, each value rendered by ValueToString: 42, 1.5, 'text', X'00ff',
  // NULL.
  std::vector<std::vector<std::string>> Rows(std::string_view sql);
  // The first value of the first row (NULL when there is none, with a test
  // failure).
  Value One(std::string_view sql);
  int64_t Int(std::string_view sql);
  // The text (or blob bytes) of One().
  std::string Bytes(std::string_view sql);

 private:
  sqlite3* db_ = nullptr;
  bool loaded_ = false;
  std::string load_error_;
};

// Opens a connection with the extension loaded and asserts that it loaded.
#define OPEN_DB(var, path)                                    \
  auto var = std::make_unique<::crlog::capture_test::Db>(path); \
  ASSERT_TRUE(var->loaded()) << var->load_error()

// A published event as the log holds it.
struct LoggedEvent {
  uint64_t position = 0;
  log::Hash hash{};
  log::Event event;
};

// What the log of a database holds, read by a child process.
struct LogSnapshot {
  std::vector<LoggedEvent> events;  // published, in arrival order
  uint64_t pending = 0;             // events stored but neither published nor discarded
  std::string error;                // why reading failed; "" when it did not

  // Published events of kind kChange.
  std::vector<const LoggedEvent*> Changes() const;
};

// Reads the log of the database at `db_path` (its directory db_path-crlog).
LogSnapshot ReadLog(const std::string& db_path);

// One line per row operation of `event`, in order, e.g.
//   t(1) cl=1 a@1='x' b@1=2       an insert
//   t(1) cl=2                      a delete
//   p(1,'q') cl=1                  a row whose columns are all pk
// Cells are column@version=value.
std::vector<std::string> DescribeRows(const log::Event& event);

// The model of the tables that the log's change events describe, replayed in
// arrival order: a row is present iff its last causal length is odd; an op
// whose causal length differs from the row's previous one starts a fresh row
// with only the cells of that op; cells of later ops in the same life
// overwrite.
using Cells = std::map<std::string, Value>;  // non-pk column -> value
struct ModelRow {
  uint64_t cl = 0;
  Cells cells;
};
struct Model {
  std::map<std::pair<std::string, std::string>, ModelRow> rows;  // (table, packed pk)
  std::vector<std::string> faults;  // e.g. a causal length that went down
};
Model Replay(const LogSnapshot& log);

// Live rows of `table`, keyed by packed pk: from the model, and from the
// database (every non-pk column, values as stored).
std::map<std::string, Cells> ModelRows(const Model& model, const std::string& table);
std::map<std::string, Cells> TableRows(Db& db, const std::string& table);

// Whether the model replayed from the log of `db_path` equals the contents
// of each of `tables` as `db` reads them; on failure, says which rows differ.
::testing::AssertionResult LogMatchesTables(Db& db, const std::string& db_path,
                                            const std::vector<std::string>& tables);

// Renders a packed pk as its values: "1", "1,'q'".
std::string PkText(std::string_view packed);

// A program run to completion.
struct RunResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string out;
  std::string err;
};
// Runs `argv` with stdin from /dev/null, capturing stdout and stderr.
RunResult Run(const std::vector<std::string>& argv);

// The seq chain of a single site: seqs 1..n without gaps in arrival order,
// lamport == seq, each event's parents exactly the previous event (none for
// the first). Returns "" or the first fault.
std::string CheckSingleChain(const LogSnapshot& log);

// A database file in a fresh directory, a connection to it with the
// extension loaded, and shortcuts to its log.
class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // The log now; a read failure is a test failure.
  LogSnapshot Log();
  size_t EventCount() { return Log().events.size(); }
  // DescribeRows of each event published after the first `n`.
  std::vector<std::vector<std::string>> RowsSince(size_t n);
  // Events published after the first `n`.
  std::vector<LoggedEvent> EventsSince(size_t n);
  ::testing::AssertionResult Matches(const std::vector<std::string>& tables) {
    return LogMatchesTables(*db_, path_, tables);
  }

  TempDir dir_;
  std::string path_ = dir_.File("app.db");
  std::unique_ptr<Db> db_;
};

}  // namespace crlog::capture_test

#endif  // CRLOG_TESTS_CAPTURE_CAPTURE_TEST_UTIL_H_
