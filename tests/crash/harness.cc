// The crash tests' shared machinery (tests/crash/harness.h).
#include "tests/crash/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engine/replica/replica.h"
#include "engine/history/verify_database.h"
#include "log/event.h"
#include "log/row_codec.h"
#include "schema/packed_pk.h"

extern char** environ;

namespace crlog::crash {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// How long the writer may go without acknowledging anything (or ending)
// before the run is declared stuck. Not a sleep: the parent blocks on the
// pipe and normally wakes within milliseconds.
constexpr int kStuckMillis = 180 * 1000;

struct PlainDb {
  ~PlainDb() { sqlite3_close(db); }
  sqlite3* db = nullptr;
};

// Plain SQLite, crlog not loaded. Read-write so that a hot rollback journal
// left by a crash can be rolled back (as any opener would), but never
// checkpointing on close: the WAL stays as the crash left it for crlog's own
// reopen.
absl::Status OpenPlain(const std::string& path, PlainDb* out) {
  int rc = sqlite3_open_v2(path.c_str(), &out->db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("opening ", path, ": ", sqlite3_errstr(rc)));
  }
  sqlite3_db_config(out->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  return absl::OkStatus();
}

bool TableExists(sqlite3* db, const char* table) {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
  bool found = sqlite3_step(stmt) == SQLITE_ROW;
  sqlite3_finalize(stmt);
  return found;
}

absl::StatusOr<std::set<int64_t>> TxlogIds(sqlite3* db) {
  std::set<int64_t> ids;
  if (!TableExists(db, "txlog")) return ids;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT id FROM txlog", -1, &stmt, nullptr);
  while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ids.insert(sqlite3_column_int64(stmt, 0));
    rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return absl::InternalError(absl::StrCat("reading txlog: ", sqlite3_errmsg(db)));
  return ids;
}

// The number of this process's open files inside `dir`.
int OpenFilesUnder(const std::string& dir) {
  int count = 0;
  std::error_code ec;
  const std::string canonical = std::filesystem::weakly_canonical(dir, ec).string();
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind(canonical + "/", 0) == 0) ++count;
  }
  return count;
}

// txlog ids inserted by `event` (a row alive after it: odd causal length).
absl::Status TxlogInserts(const log::Event& event, std::vector<int64_t>* ids) {
  for (const log::TableChanges& t : event.tables) {
    if (t.table != "txlog") continue;
    // Import events carry an origin and seq per row and per cell.
    auto rows = log::DecodeRows(t.rows, t.row_count, static_cast<uint32_t>(t.columns.size()),
                                event.kind == log::EventKind::kImport);
    if (!rows.ok()) return rows.status();
    for (const log::RowOp& row : *rows) {
      if (row.causal_length % 2 == 0) continue;
      auto pk = schema::UnpackColumns(row.pk);
      if (!pk.ok()) return pk.status();
      if (pk->size() != 1 || (*pk)[0].type != ValueType::kInteger) {
        return absl::DataLossError("a txlog row in the log has a malformed primary key");
      }
      ids->push_back((*pk)[0].integer);
    }
  }
  return absl::OkStatus();
}

std::string SetDifference(const std::set<int64_t>& a, const std::set<int64_t>& b) {
  std::set<int64_t> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return Ids(out);
}

}  // namespace

std::string Ids(const std::set<int64_t>& ids) {
  std::string out = "{";
  for (int64_t id : ids) absl::StrAppend(&out, out.size() > 1 ? ", " : "", id);
  return out + "}";
}

std::string ModeName(const ::testing::TestParamInfo<Mode>& info) {
  std::string name = info.param.name;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

test_support::Seeds Seeds(int default_count, uint64_t first) {
  const test_support::SeedEnv env{"CRLOG_CRASH_SEED", "CRLOG_CRASH_SEEDS",
                                  test_support::SeedEnv::FirstAlone::kRunsOnlyIt};
  return test_support::Seeds(env, first, kSanitized ? std::max(1, default_count / 2) : default_count);
}

std::string WriterResult::Describe() const {
  std::string how;
  if (WIFSIGNALED(wait_status)) {
    how = absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  } else if (WIFEXITED(wait_status)) {
    how = absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  } else {
    how = absl::StrCat("ended with wait status ", wait_status);
  }
  return absl::StrCat("writer ", how, " after ", acks.size(), " acknowledgements; its statements and errors are in ",
                      stderr_path, stderr_text.empty() ? "" : ", ending: ", stderr_text);
}

namespace {

// One running writer and what the parent knows of it.
struct Child {
  const WriterOptions* options = nullptr;
  pid_t pid = -1;
  int fd = -1;  // the read end of its report pipe; -1 after EOF
  std::string partial;
  std::string stderr_path;
  bool killed = false;
  int steps = 0;
  bool in_commit = false;
  WriterResult result;
};

absl::Status Spawn(const std::string& db_path, const WriterOptions& o, Child* child) {
  static int runs = 0;
  if (o.mode == nullptr) return absl::InvalidArgumentError("RunWriter needs a mode");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  // Above 3, so that dup2 onto 3 always makes a fresh, inheritable fd.
  const int rfd = fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
  const int wfd = fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
  close(fds[0]);
  close(fds[1]);
  child->options = &o;
  child->stderr_path = absl::StrCat(db_path, ".writer-", ++runs, ".stderr");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, wfd, 3);
  posix_spawn_file_actions_addopen(&actions, 2, child->stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);

  const std::string& program = o.program.empty() ? kWriter : o.program;
  std::vector<std::string> args = {program,
                                   db_path,
                                   kExtension,
                                   std::to_string(o.seed),
                                   o.mode->name,
                                   o.action,
                                   std::to_string(o.limit),
                                   std::to_string(o.id_base)};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "CRLOG_CRASH_", 12) == 0) continue;
    env.emplace_back(*e);
  }
  env.push_back("CRLOG_CRASH_TRACE=1");
  if (kSanitized) {
    // The writer dlopens crsqlite.so and the libraries it needs; at exit,
    // this toolchain's LeakSanitizer (GCC 12, glibc 2.36) can crash while
    // scanning their dynamic TLS ("Tracer caught signal 11", "DTLS 5 at
    // 0x18f-..."), failing a writer that did nothing wrong. Leaks in crlog
    // are still caught in this process, which loads the same extension.
    std::string asan = "ASAN_OPTIONS=detect_leaks=0";
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (it->rfind("ASAN_OPTIONS=", 0) == 0) {
        asan = *it + ":detect_leaks=0";
        env.erase(it);
        break;
      }
    }
    env.push_back(asan);
  }
  if (!o.crash_at.empty()) {
    env.push_back("CRLOG_CRASH_AT=" + o.crash_at);
    env.push_back(absl::StrCat("CRLOG_CRASH_SKIP=", o.crash_skip));
  }
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int rc = posix_spawn(&child->pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(wfd);
  if (rc != 0) {
    close(rfd);
    return absl::InternalError(absl::StrCat("spawning ", program, ": ", std::strerror(rc)));
  }
  child->fd = rfd;
  return absl::OkStatus();
}

// One line the child reported: an acknowledgement or a step. Kills the child
// when its options say so.
void Consume(Child& c, const std::string& line) {
  const WriterOptions& o = *c.options;
  const bool armed = o.kill_after_acks > 0 && c.result.acks.size() >= static_cast<size_t>(o.kill_after_acks);
  const bool statement = line == "." || line == "c";
  const bool io = line == "w" || line == "s" || line == "d";
  if (!statement && !io) {
    c.result.acks.push_back(std::strtoll(line.c_str(), nullptr, 10));
  } else if (armed) {
    switch (o.steps) {
      case WriterOptions::Step::kStatement:
        c.steps += statement;
        break;
      case WriterOptions::Step::kCommit:
        c.steps += line == "c";
        break;
      case WriterOptions::Step::kCommitIo:
        c.in_commit |= line == "c";
        c.steps += c.in_commit && io;
        break;
      case WriterOptions::Step::kCommitSync:
        c.in_commit |= line == "c";
        c.steps += c.in_commit && (line == "s" || line == "d");
        break;
    }
  }
  const bool now_armed = o.kill_after_acks > 0 && c.result.acks.size() >= static_cast<size_t>(o.kill_after_acks);
  const bool gave_up =
      o.kill_after_acks > 0 && c.result.acks.size() >= static_cast<size_t>(o.kill_after_acks + o.give_up_after_acks);
  if (!c.killed && ((now_armed && c.steps >= o.then_after_steps) || gave_up)) {
    kill(c.pid, SIGKILL);
    c.killed = true;
  }
}

}  // namespace

absl::StatusOr<std::vector<WriterResult>> RunWriters(const std::string& db_path,
                                                     const std::vector<WriterOptions>& options) {
  std::vector<Child> children(options.size());
  absl::Status spawned;
  for (size_t i = 0; i < options.size() && spawned.ok(); ++i) spawned = Spawn(db_path, options[i], &children[i]);

  bool stuck = false;
  char buf[4096];
  while (spawned.ok()) {
    std::vector<pollfd> polls;
    std::vector<Child*> polled;
    for (Child& c : children) {
      if (c.fd < 0) continue;
      polls.push_back(pollfd{c.fd, POLLIN, 0});
      polled.push_back(&c);
    }
    if (polls.empty()) break;
    int ready = poll(polls.data(), polls.size(), kStuckMillis);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      stuck = true;
      break;
    }
    for (size_t i = 0; i < polls.size(); ++i) {
      if (polls[i].revents == 0) continue;
      Child& c = *polled[i];
      ssize_t n = read(c.fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // EOF: the writer ended or died
        close(c.fd);
        c.fd = -1;
        continue;
      }
      c.partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = c.partial.find('\n')) != std::string::npos) {
        const std::string line = c.partial.substr(0, nl);
        c.partial.erase(0, nl + 1);
        Consume(c, line);
      }
    }
  }

  std::vector<WriterResult> results;
  absl::Status failure = spawned;
  for (Child& c : children) {
    if (c.pid < 0) continue;
    if (stuck || !spawned.ok()) kill(c.pid, SIGKILL);
    if (c.fd >= 0) close(c.fd);
    while (waitpid(c.pid, &c.result.wait_status, 0) < 0 && errno == EINTR) {
    }
    std::ifstream err_file(c.stderr_path);
    std::stringstream err_text;
    err_text << err_file.rdbuf();
    c.result.stderr_text = err_text.str();
    if (c.result.stderr_text.size() > 2000) {
      c.result.stderr_text = "..." + c.result.stderr_text.substr(c.result.stderr_text.size() - 2000);
    }
    c.result.stderr_path = c.stderr_path;
    if (stuck && failure.ok()) {
      failure = absl::DeadlineExceededError(
          absl::StrCat("the writers made no progress for ", kStuckMillis / 1000, " s; ", c.result.Describe()));
    }
    if (!c.partial.empty() && failure.ok()) {
      failure = absl::DataLossError(absl::StrCat("a torn report line '", c.partial, "'"));
    }
    results.push_back(std::move(c.result));
  }
  if (!failure.ok()) return failure;
  return results;
}

absl::StatusOr<WriterResult> RunWriter(const std::string& db_path, const WriterOptions& options) {
  auto results = RunWriters(db_path, {options});
  if (!results.ok()) return results.status();
  return std::move(results->front());
}

absl::StatusOr<std::set<int64_t>> ReadTxlogPlain(const std::string& db_path) {
  PlainDb db;
  if (absl::Status s = OpenPlain(db_path, &db); !s.ok()) return s;
  return TxlogIds(db.db);
}

absl::StatusOr<int64_t> QueryIntPlain(const std::string& db_path, const std::string& sql) {
  PlainDb db;
  if (absl::Status s = OpenPlain(db_path, &db); !s.ok()) return s;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.db, sql.c_str(), -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return absl::InternalError(absl::StrCat(sql, ": ", sqlite3_errmsg(db.db)));
  return value;
}

absl::StatusOr<LogFacts> ReadLogFacts(const std::string& db_path) {
  const std::string log_path = engine::LogPathFor(db_path);
  if (int open = OpenFilesUnder(log_path); open != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("this process still has ", open, " files of ", log_path,
                     " open after every crlog connection closed: crlog did not close its LMDB environment"));
  }
  LogFacts f;
  {
    PlainDb db;
    if (absl::Status s = OpenPlain(db_path, &db); !s.ok()) return s;
    auto site = engine::meta::ReadSite(db.db);
    if (!site.ok()) return site.status();
    if (!site->has_value()) return absl::DataLossError("crlog_site is empty");
    f.site = (*site)->site;
    auto watermark = engine::meta::ReadWatermark(db.db);
    if (!watermark.ok()) return watermark.status();
    f.watermark = *watermark;
  }
  log::StoreOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  auto store = log::LogStore::Open(log_path, options);
  if (!store.ok()) return store.status();
  absl::Status failure;
  absl::Status walked = (*store)->ForEach([&](const log::StoredEvent& stored) {
    auto event = stored.Decode();
    if (!event.ok()) {
      failure = event.status();
      return false;
    }
    ++f.published;
    f.published_hashes.insert(stored.hash);
    if (event->site == f.site && event->is_native()) f.local_seqs.push_back(event->seq);
    if (event->group.grouped()) ++f.grouped_events;
    for (const log::TableChanges& t : event->tables) f.rows_per_table[t.table] += t.row_count;
    std::vector<int64_t> ids;
    failure = TxlogInserts(*event, &ids);
    for (int64_t id : ids) {
      if (!f.txlog_seq.emplace(id, event->seq).second) f.txlog_inserted_twice.push_back(id);
    }
    return failure.ok();
  });
  if (!walked.ok()) return walked;
  if (!failure.ok()) return failure;
  std::sort(f.local_seqs.begin(), f.local_seqs.end());
  auto pending = (*store)->PendingEvents();
  if (!pending.ok()) return pending.status();
  for (const log::StoredEvent& stored : *pending) {
    f.pending.push_back(stored.hash);
    auto event = stored.Decode();
    if (!event.ok()) return event.status();
    std::vector<int64_t> ids;
    if (absl::Status s = TxlogInserts(*event, &ids); !s.ok()) return s;
    f.pending_txlog.insert(ids.begin(), ids.end());
  }
  return f;
}

void PrepareDatabase(const std::string& db_path, const Mode& mode) {
  std::string error;
  sqlite3* db = OpenWithCrlog(db_path, mode, kExtension, &error);
  ASSERT_NE(db, nullptr) << error;
  std::string msg = SetUpTables(db);
  EXPECT_EQ(msg, "");
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

void ExpectRecovered(const std::string& db_path, const Mode& mode, const std::set<int64_t>& acked, Recovered* out) {
  ExpectRecovered(db_path, mode, acked, {(acked.empty() ? 0 : *acked.rbegin()) + 1}, out);
}

void ExpectRecovered(const std::string& db_path, const Mode& mode, const std::set<int64_t>& acked,
                     const std::set<int64_t>& in_flight, Recovered* out) {
  std::string error;
  sqlite3* db = OpenWithCrlog(db_path, mode, kExtension, &error);
  ASSERT_NE(db, nullptr) << "reopening with crlog after the crash: " << error;
  auto ids = TxlogIds(db);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  ASSERT_TRUE(ids.ok()) << ids.status();

  // Nothing acknowledged lost, nothing unacknowledged invented.
  std::set<int64_t> allowed = acked;
  allowed.insert(in_flight.begin(), in_flight.end());
  EXPECT_EQ(SetDifference(acked, *ids), "{}") << "acknowledged commits lost after the crash";
  EXPECT_EQ(SetDifference(*ids, allowed), "{}")
      << "transactions present that were never acknowledged (only " << Ids(in_flight) << " may be)";

  // The tables equal the fold of an intact log, anchored by the watermark.
  auto report = engine::VerifyDatabase(db_path);
  EXPECT_TRUE(report.ok()) << "VerifyDatabase after recovery: " << report.status();

  auto facts = ReadLogFacts(db_path);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_TRUE(facts->pending.empty()) << facts->pending.size() << " events still pending after recovery";
  EXPECT_EQ(facts->published, facts->local_seqs.size()) << "events of another site in a single-site test";
  for (size_t i = 0; i < facts->local_seqs.size(); ++i) {
    ASSERT_EQ(facts->local_seqs[i], i + 1) << "this site's seqs have a gap or a repeat at position " << i;
  }
  EXPECT_EQ(facts->local_seqs.size(), facts->watermark.seq) << "the watermark does not name the newest event";
  EXPECT_TRUE(facts->txlog_inserted_twice.empty()) << "a txlog row was inserted by two events";

  // A transaction is in the tables exactly when its event is published.
  std::set<int64_t> logged;
  for (const auto& [id, seq] : facts->txlog_seq) logged.insert(id);
  EXPECT_EQ(SetDifference(*ids, logged), "{}") << "txlog rows committed without a published event";
  EXPECT_EQ(SetDifference(logged, *ids), "{}") << "published events for txlog rows SQLite does not have";

  if (out != nullptr) {
    out->txlog = *ids;
    out->log = *std::move(facts);
  }
}

void ExpectWritesAgain(const std::string& db_path, const Mode& mode) {
  auto before = ReadLogFacts(db_path);
  ASSERT_TRUE(before.ok()) << before.status();
  std::string error;
  sqlite3* db = OpenWithCrlog(db_path, mode, kExtension, &error);
  ASSERT_NE(db, nullptr) << error;
  const int64_t k = MaxTxlogId(db) + 1;
  const std::string sql = absl::StrCat(
      "BEGIN;",
      "INSERT INTO txlog(id, n) VALUES (", k, ", -1);",
      "INSERT OR REPLACE INTO items(id, a, b) VALUES (7, ", k, ", 'again');",
      "UPDATE items SET a = coalesce(a, 0) + 1 WHERE id BETWEEN 10 AND 20;",
      "DELETE FROM pairs WHERE k = 'k3';",
      "COMMIT;");
  std::string msg = ExecSql(db, sql);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  ASSERT_EQ(msg, "") << "writing after recovery";

  auto report = engine::VerifyDatabase(db_path);
  EXPECT_TRUE(report.ok()) << "VerifyDatabase after writing again: " << report.status();
  auto after = ReadLogFacts(db_path);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->pending.empty());
  EXPECT_EQ(after->watermark.seq, before->watermark.seq + 1) << "the new transaction is not the next seq";
  EXPECT_EQ(after->local_seqs.size(), after->watermark.seq);
  auto it = after->txlog_seq.find(k);
  ASSERT_NE(it, after->txlog_seq.end()) << "the new transaction's event is not published";
  EXPECT_EQ(it->second, after->watermark.seq);
}

}  // namespace crlog::crash
