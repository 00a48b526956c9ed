// Progress on a terminal: `crlog replay` and `crlog verify` draw a
// self-overwriting "N/M events (P%)" line on stderr while they work through a
// long log, erase it before printing their result, and draw nothing when
// stderr is not a terminal (a pipe or a file must get only real output).
//
// The terminal is util-linux `script`, which runs the command on a pseudo
// terminal and copies what it draws to its own stdout; the test skips when
// `script` is not installed. The log holds more events than ProgressLine's
// threshold for drawing (10,000), one single-row transaction each, written
// through the loaded extension; the crlog binary reads it as a subprocess.
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cli/subprocess.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::cli_test {
namespace {

namespace fs = std::filesystem;

// Above ProgressLine's default min_total (tools/output.h), with margin.
constexpr int kEvents = 12'000;

// `name` on $PATH (as a shell finds it), or "" when it is not there.
std::string FindProgram(const std::string& name) {
  const char* env = std::getenv("PATH");
  std::istringstream path(env != nullptr ? env : "/usr/bin:/bin");
  for (std::string dir; std::getline(path, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// `s` as one word for `sh -c` (what `script -c` hands the command to).
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// A progress line as ProgressLine draws it: "\r<label>: N/M events (P%)".
std::regex ProgressPattern(const std::string& label) {
  return std::regex("\r" + label + ": [0-9]+/[0-9]+ events \\([0-9]+%\\)");
}

class ProgressCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    script_ = new std::string(FindProgram("script"));
    dir_ = new merge_sql_test::TempDir();
    db_ = new std::string(dir_->File("big.db"));
    OPEN_REPLICA_AT(db, *db_);
    merge_sql_test::MakeCrr(*db, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)", "t");
    sqlite3_stmt* insert = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db->get(), "INSERT INTO t VALUES (?1, 'v' || ?1)", -1, &insert, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db->get());
    // Autocommit: every row is a transaction of its own, so an event.
    for (int id = 1; id <= kEvents; ++id) {
      sqlite3_bind_int(insert, 1, id);
      ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE) << "row " << id << ": " << sqlite3_errmsg(db->get());
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
  }  // the connection closes: the extension lets go of the log

  static void TearDownTestSuite() {
    delete db_;
    delete dir_;
    delete script_;
  }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(*db_)) << "the suite's setup did not make " << *db_;
    scratch_ = dir_->File(::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(scratch_);
  }

  // crlog with stdout and stderr into files: not a terminal.
  RunResult Crlog(const std::vector<std::string>& args) { return cli_test::Run(CRLOG_BINARY, args, scratch_); }

  // crlog on a pseudo terminal (stdout and stderr both on it); `out` gets
  // everything it drew.
  RunResult CrlogOnTerminal(const std::vector<std::string>& args) {
    std::string command = ShellQuote(CRLOG_BINARY);
    for (const std::string& a : args) absl::StrAppend(&command, " ", ShellQuote(a));
    return cli_test::Run(*script_, {"-qec", command, "/dev/null"}, scratch_);
  }

  std::string Out(const std::string& name) const { return scratch_ + "/" + name; }

  static std::string* script_;
  static merge_sql_test::TempDir* dir_;
  static std::string* db_;
  std::string scratch_;
};

std::string* ProgressCliTest::script_ = nullptr;
merge_sql_test::TempDir* ProgressCliTest::dir_ = nullptr;
std::string* ProgressCliTest::db_ = nullptr;

// What a terminal must show: at least one progress line with a percentage,
// the line erased before `result_text` is printed, and the result.
void ExpectDrawnThenErased(const RunResult& r, const std::string& label, const std::string& result_text) {
  ASSERT_EQ(r.exit_code, 0) << "stdout (the terminal):\n" << r.out << "\nstderr:\n" << r.err;
  std::smatch first;
  ASSERT_TRUE(std::regex_search(r.out, first, ProgressPattern(label)))
      << "no '" << label << ": N/M events (P%)' line on the terminal:\n"
      << r.out;
  const size_t result_at = r.out.find(result_text);
  ASSERT_NE(result_at, std::string::npos) << "no '" << result_text << "' on the terminal:\n" << r.out;
  EXPECT_LT(static_cast<size_t>(first.position(0)), result_at) << r.out;
  // Erased (carriage return, erase to end of line) after the last drawing
  // and before the result, so the result starts on a clean line.
  const size_t erase_at = r.out.rfind("\r\x1b[K", result_at);
  ASSERT_NE(erase_at, std::string::npos) << "the progress line was not erased before the result:\n" << r.out;
  const size_t last_drawn = r.out.rfind("\r" + label + ": ", result_at);
  EXPECT_LT(last_drawn, erase_at) << "a progress line was drawn after the erase:\n" << r.out;
}

// Each case runs crlog twice on the same log, so the suite makes the log
// only once per process (ctest runs every case in a process of its own).
TEST_F(ProgressCliTest, ReplayDrawsProgressOnlyOnATerminal) {
  RunResult piped = Crlog({"replay", *db_, "--at", "head", "--out", Out("piped.db")});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err, "") << "stderr is a file: it must get no progress";
  EXPECT_EQ(piped.out.find('\r'), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find(absl::StrCat(kEvents, " rows")), std::string::npos) << piped.out;

  if (script_->empty()) GTEST_SKIP() << "util-linux `script` is not installed: no terminal to run crlog on";
  RunResult r = CrlogOnTerminal({"replay", *db_, "--at", "head", "--out", Out("on_terminal.db")});
  ExpectDrawnThenErased(r, "replaying", "wrote '");
  EXPECT_NE(r.out.find("(100%)"), std::string::npos) << "replay never reached 100%:\n" << r.out;
  EXPECT_NE(r.out.find(absl::StrCat(kEvents, " rows")), std::string::npos) << r.out;
}

// A database file: its log, then the fold of the log against its tables.
TEST_F(ProgressCliTest, VerifyDrawsProgressOnlyOnATerminal) {
  RunResult piped = Crlog({"verify", *db_});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err, "") << "stderr is a file: it must get no progress";
  EXPECT_EQ(piped.out.find('\r'), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find("equal to the fold of the log"), std::string::npos) << piped.out;

  if (script_->empty()) GTEST_SKIP() << "util-linux `script` is not installed: no terminal to run crlog on";
  RunResult r = CrlogOnTerminal({"verify", *db_});
  // Two passes, each with its line: the log's checks, then the replay.
  ExpectDrawnThenErased(r, "verifying the log", "equal to the fold of the log");
  ExpectDrawnThenErased(r, "replaying the log", "equal to the fold of the log");
  EXPECT_LT(r.out.find("\rverifying the log: "), r.out.find("\rreplaying the log: ")) << r.out;
}

}  // namespace
}  // namespace crlog::cli_test
