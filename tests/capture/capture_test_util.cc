// Helpers for the capture tests (capture_test_util.h).
#include "tests/capture/capture_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "log/row_codec.h"
#include "log/store.h"
#include "util/strings.h"
#include "schema/packed_pk.h"

#ifndef CRLOG_EXTENSION
#error "CRLOG_EXTENSION must name the built crsqlite.so"
#endif

namespace crlog::capture_test {

// An empty TEXT or BLOB column may come back as a null pointer.
Value ColumnValue(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER: return Value::Integer(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT: return Value::Real(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      int n = sqlite3_column_bytes(stmt, i);
      return Value::Text(p == nullptr ? std::string() : std::string(p, n));
    }
    case SQLITE_BLOB: {
      const char* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      int n = sqlite3_column_bytes(stmt, i);
      return Value::Blob(p == nullptr ? std::string() : std::string(p, n));
    }
    default: return Value::Null();
  }
}

void Bind(sqlite3_stmt* stmt, int i, const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: sqlite3_bind_int64(stmt, i, v.integer); return;
    case ValueType::kReal: sqlite3_bind_double(stmt, i, v.real); return;
    case ValueType::kText:
      sqlite3_bind_text(stmt, i, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      return;
    case ValueType::kBlob:  // data() is never null, so an empty blob stays a blob
      sqlite3_bind_blob(stmt, i, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      return;
    case ValueType::kNull: sqlite3_bind_null(stmt, i); return;
  }
}

namespace {


void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetU64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  return true;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The child's half of ReadLog: frames on `fd`, then _exit.
//   'E' position(u64) hash(32) length(u64) bytes   a published event
//   'P' count(u64)                                 pending events
//   'X' message                                    the log could not be read
[[noreturn]] void ServeLog(const std::string& db_path, int fd) {
  std::string out;
  log::StoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  auto store = log::LogStore::Open(db_path + "-crlog", options);
  absl::Status s = store.status();
  if (s.ok()) {
    s = (*store)->ForEach([&](const log::StoredEvent& e) {
      out.push_back('E');
      PutU64(&out, e.position);
      out.append(log::AsBytes(e.hash));
      PutU64(&out, e.bytes.size());
      out.append(e.bytes);
      return true;
    });
  }
  if (s.ok()) {
    auto pending = (*store)->PendingEvents();
    if (pending.ok()) {
      out.push_back('P');
      PutU64(&out, pending->size());
    } else {
      s = pending.status();
    }
  }
  if (!s.ok()) out = absl::StrCat("X", s.ToString());
  store = absl::UnknownError("closed");  // closes the env before exiting
  _exit(WriteAll(fd, out) ? 0 : 1);
}

}  // namespace

// --- Db --------------------------------------------------------------------

Db::Db(const std::string& path, bool load_extension, std::string_view before_load) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    load_error_ = absl::StrCat("cannot open ", path, ": ", sqlite3_errmsg(db_));
    ADD_FAILURE() << load_error_;
    return;
  }
  if (!before_load.empty()) Exec(before_load);
  if (!load_extension) return;
  sqlite3_enable_load_extension(db_, 1);
  char* err = nullptr;
  rc = sqlite3_load_extension(db_, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err);
  if (rc == SQLITE_OK) {
    loaded_ = true;
  } else {
    load_error_ = err ? err : sqlite3_errmsg(db_);
  }
  sqlite3_free(err);
}

Db::~Db() {
  if (db_ != nullptr && sqlite3_close(db_) != SQLITE_OK) {
    ADD_FAILURE() << "closing the connection failed: " << sqlite3_errmsg(db_);
    sqlite3_close_v2(db_);
  }
}

std::string Db::Try(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  std::string msg;
  if (rc != SQLITE_OK) msg = err ? err : sqlite3_errstr(rc);
  if (rc != SQLITE_OK && msg.empty()) msg = "error";
  sqlite3_free(err);
  return msg;
}

void Db::Exec(std::string_view sql) {
  std::string err = Try(sql);
  if (!err.empty()) ADD_FAILURE() << "SQL failed: " << sql << "\n  error: " << err;
}

std::vector<std::vector<Value>> Db::Values(std::string_view sql) {
  std::vector<std::vector<Value>> rows;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    ADD_FAILURE() << "preparing failed: " << sql << "\n  error: " << sqlite3_errmsg(db_);
    return rows;
  }
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<Value> row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) row.push_back(ColumnValue(stmt, i));
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    ADD_FAILURE() << "query failed: " << sql << "\n  error: " << sqlite3_errmsg(db_);
  }
  sqlite3_finalize(stmt);
  return rows;
}

std::vector<std::vector<std::string>> Db::Rows(std::string_view sql) {
  std::vector<std::vector<std::string>> out;
  for (const auto& row : Values(sql)) {
    std::vector<std::string> r;
    for (const Value& v : row) r.push_back(ValueToString(v));
    out.push_back(std::move(r));
  }
  return out;
}

Value Db::One(std::string_view sql) {
  auto rows = Values(sql);
  if (rows.empty() || rows[0].empty()) {
    ADD_FAILURE() << "no value from: " << sql;
    return Value::Null();
  }
  return rows[0][0];
}

int64_t Db::Int(std::string_view sql) {
  Value v = One(sql);
  if (v.type != ValueType::kInteger) {
    ADD_FAILURE() << "not an integer: " << ValueToString(v) << " from: " << sql;
    return -1;
  }
  return v.integer;
}

std::string Db::Bytes(std::string_view sql) { return One(sql).bytes; }

// --- The log ------------------------------------------------------------------

std::vector<const LoggedEvent*> LogSnapshot::Changes() const {
  std::vector<const LoggedEvent*> out;
  for (const LoggedEvent& e : events) {
    if (e.event.kind == log::EventKind::kChange) out.push_back(&e);
  }
  return out;
}

LogSnapshot ReadLog(const std::string& db_path) {
  LogSnapshot snap;
  int fds[2];
  if (pipe(fds) != 0) {
    snap.error = "pipe failed";
    return snap;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    snap.error = "fork failed";
    return snap;
  }
  if (pid == 0) {
    close(fds[0]);
    ServeLog(db_path, fds[1]);
  }
  close(fds[1]);
  std::string data = ReadAll(fds[0]);
  close(fds[0]);
  int code = WaitFor(pid);
  if (code != 0) {
    snap.error = absl::StrCat("the log reader exited with ", code);
    return snap;
  }
  std::string_view in = data;
  while (!in.empty()) {
    char tag = in.front();
    in.remove_prefix(1);
    if (tag == 'X') {
      snap.error = std::string(in);
      return snap;
    }
    if (tag == 'P') {
      if (!GetU64(&in, &snap.pending)) snap.error = "short pending frame";
      continue;
    }
    LoggedEvent e;
    uint64_t size = 0;
    if (tag != 'E' || !GetU64(&in, &e.position) || in.size() < 32) {
      snap.error = "bad frame from the log reader";
      return snap;
    }
    e.hash = log::ToArray<32>(in.substr(0, 32));
    in.remove_prefix(32);
    if (!GetU64(&in, &size) || in.size() < size) {
      snap.error = "short event frame";
      return snap;
    }
    std::string_view bytes = in.substr(0, size);
    in.remove_prefix(size);
    if (log::Sha256(bytes) != e.hash) {
      snap.error = absl::StrCat("event at position ", e.position, " does not hash to its id");
      return snap;
    }
    auto decoded = log::DecodeEvent(bytes, log::DecodeLimits{SIZE_MAX});
    if (!decoded.ok()) {
      snap.error = absl::StrCat("event at position ", e.position,
                                " does not decode: ", decoded.status().ToString());
      return snap;
    }
    e.event = *std::move(decoded);
    snap.events.push_back(std::move(e));
  }
  return snap;
}

std::string PkText(std::string_view packed) {
  auto values = schema::UnpackColumns(packed);
  if (!values.ok()) return absl::StrCat("<bad pk ", log::ToHex(packed), ">");
  std::vector<std::string> parts;
  for (const Value& v : *values) parts.push_back(ValueToString(v));
  return absl::StrJoin(parts, ",");
}

std::vector<std::string> DescribeRows(const log::Event& event) {
  std::vector<std::string> out;
  for (const log::TableChanges& t : event.tables) {
    auto rows = log::DecodeRows(t.rows, t.row_count, static_cast<uint32_t>(t.columns.size()),
                                event.kind == log::EventKind::kImport);
    if (!rows.ok()) {
      out.push_back(absl::StrCat(t.table, ": ", rows.status().ToString()));
      continue;
    }
    for (const log::RowOp& row : *rows) {
      std::string line = absl::StrCat(t.table, "(", PkText(row.pk), ") cl=", row.causal_length);
      for (const log::CellOp& c : row.cells) {
        absl::StrAppend(&line, " ", t.columns[c.column], "@", c.version, "=", ValueToString(c.value));
      }
      out.push_back(std::move(line));
    }
  }
  return out;
}

Model Replay(const LogSnapshot& log) {
  Model model;
  for (const LoggedEvent* e : log.Changes()) {
    for (const log::TableChanges& t : e->event.tables) {
      auto rows = log::DecodeRows(t.rows, t.row_count, static_cast<uint32_t>(t.columns.size()));
      if (!rows.ok()) {
        model.faults.push_back(absl::StrCat("event ", e->position, " table ", t.table, ": ",
                                            rows.status().ToString()));
        continue;
      }
      for (const log::RowOp& op : *rows) {
        ModelRow& row = model.rows[{t.table, op.pk}];
        if (op.causal_length < row.cl) {
          model.faults.push_back(absl::StrCat("event ", e->position, ": causal length of ", t.table,
                                              "(", PkText(op.pk), ") went down from ", row.cl,
                                              " to ", op.causal_length));
        }
        if (op.causal_length % 2 == 0 && !op.cells.empty()) {
          model.faults.push_back(absl::StrCat("event ", e->position, ": deleted row ", t.table, "(",
                                              PkText(op.pk), ") carries cells"));
        }
        if (op.causal_length != row.cl) row.cells.clear();
        row.cl = op.causal_length;
        for (const log::CellOp& c : op.cells) row.cells[t.columns[c.column]] = c.value;
      }
    }
  }
  return model;
}

std::map<std::string, Cells> ModelRows(const Model& model, const std::string& table) {
  std::map<std::string, Cells> out;
  for (const auto& [key, row] : model.rows) {
    if (key.first == table && row.cl % 2 == 1) out[key.second] = row.cells;
  }
  return out;
}

std::map<std::string, Cells> TableRows(Db& db, const std::string& table) {
  // PRAGMA table_info: cid, name, type, notnull, dflt_value, pk.
  std::vector<std::string> names;
  std::vector<std::pair<int64_t, size_t>> pk;  // (position in pk, column)
  const std::string quoted = absl::StrCat("\"", absl::StrReplaceAll(table, {{"\"", "\"\""}}), "\"");
  for (const auto& col : db.Values(absl::StrCat("PRAGMA main.table_info(", quoted, ")"))) {
    if (col[5].integer > 0) pk.emplace_back(col[5].integer, names.size());
    names.push_back(col[1].bytes);
  }
  std::sort(pk.begin(), pk.end());
  std::map<std::string, Cells> out;
  for (const auto& row : db.Values(absl::StrCat("SELECT * FROM main.", quoted))) {
    std::vector<Value> key;
    for (const auto& [pos, col] : pk) key.push_back(row[col]);
    Cells cells;
    for (size_t i = 0; i < names.size(); ++i) {
      bool is_pk = false;
      for (const auto& p : pk) is_pk |= p.second == i;
      if (!is_pk) cells[names[i]] = row[i];
    }
    out[schema::PackColumns(key)] = std::move(cells);
  }
  return out;
}

namespace {

std::string CellsText(const Cells& cells) {
  std::vector<std::string> parts;
  for (const auto& [name, v] : cells) parts.push_back(absl::StrCat(name, "=", ValueToString(v)));
  return absl::StrCat("{", absl::StrJoin(parts, " "), "}");
}

}  // namespace

::testing::AssertionResult LogMatchesTables(Db& db, const std::string& db_path,
                                            const std::vector<std::string>& tables) {
  LogSnapshot log = ReadLog(db_path);
  if (!log.error.empty()) return ::testing::AssertionFailure() << "reading the log: " << log.error;
  Model model = Replay(log);
  std::vector<std::string> diffs = model.faults;
  for (const std::string& table : tables) {
    auto want = TableRows(db, table);
    auto got = ModelRows(model, table);
    for (const auto& [pk, cells] : want) {
      auto it = got.find(pk);
      if (it == got.end()) {
        diffs.push_back(absl::StrCat(table, "(", PkText(pk), ") is in the table ", CellsText(cells),
                                     " but not in the log's model"));
      } else if (it->second != cells) {
        diffs.push_back(absl::StrCat(table, "(", PkText(pk), ") table ", CellsText(cells),
                                     " but log model ", CellsText(it->second)));
      }
    }
    for (const auto& [pk, cells] : got) {
      if (!want.contains(pk)) {
        diffs.push_back(absl::StrCat(table, "(", PkText(pk), ") is in the log's model ",
                                     CellsText(cells), " but not in the table"));
      }
    }
  }
  if (diffs.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << "the log's model differs from the tables:";
  for (const auto& d : diffs) failure << "\n  " << d;
  failure << "\nlog:";
  for (const LoggedEvent& e : log.events) {
    failure << "\n  #" << e.position << " " << log::EventKindName(e.event.kind) << " seq "
            << e.event.seq;
    for (const auto& line : DescribeRows(e.event)) failure << "\n    " << line;
  }
  return failure;
}

// --- Programs -----------------------------------------------------------------

RunResult Run(const std::vector<std::string>& argv) {
  RunResult result;
  TempDir scratch;
  const std::string out_path = scratch.File("stdout");
  const std::string err_path = scratch.File("stderr");
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    result.err = "fork failed";
    return result;
  }
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  result.exit_code = WaitFor(pid);
  auto slurp = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  };
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

std::string CheckSingleChain(const LogSnapshot& log) {
  const LoggedEvent* prev = nullptr;
  for (const LoggedEvent& e : log.events) {
    const log::Event& ev = e.event;
    uint64_t want_seq = prev ? prev->event.seq + 1 : 1;
    if (ev.seq != want_seq) {
      return absl::StrCat("event at position ", e.position, " has seq ", ev.seq, ", expected ", want_seq);
    }
    if (ev.lamport != ev.seq) {
      return absl::StrCat("event seq ", ev.seq, " has lamport ", ev.lamport, " in a single chain");
    }
    std::vector<log::Hash> want_parents;
    if (prev) want_parents.push_back(prev->hash);
    if (ev.parents != want_parents) {
      return absl::StrCat("event seq ", ev.seq, " has ", ev.parents.size(),
                          " parents that are not exactly the previous event");
    }
    if (prev && ev.site != prev->event.site) return absl::StrCat("event seq ", ev.seq, " has another site");
    prev = &e;
  }
  return "";
}

// --- CaptureTest ----------------------------------------------------------------

void CaptureTest::SetUp() {
  db_ = std::make_unique<Db>(path_);
  ASSERT_TRUE(db_->loaded()) << db_->load_error();
}

LogSnapshot CaptureTest::Log() {
  LogSnapshot log = ReadLog(path_);
  if (!log.error.empty()) ADD_FAILURE() << "reading the log of " << path_ << ": " << log.error;
  return log;
}

std::vector<LoggedEvent> CaptureTest::EventsSince(size_t n) {
  LogSnapshot log = Log();
  std::vector<LoggedEvent> out;
  for (size_t i = n; i < log.events.size(); ++i) out.push_back(log.events[i]);
  return out;
}

std::vector<std::vector<std::string>> CaptureTest::RowsSince(size_t n) {
  std::vector<std::vector<std::string>> out;
  for (const LoggedEvent& e : EventsSince(n)) out.push_back(DescribeRows(e.event));
  return out;
}

}  // namespace crlog::capture_test
