// The crlog program as a user meets it: each test runs the built binary
// (CRLOG_BINARY) in a subprocess and checks its output and exit code.
#include <lmdb.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "log/format.h"
#include "log/hash.h"
#include "tests/cli/mini_json.h"
#include "tests/cli/subprocess.h"
#include "tests/support/temp_dir.h"

namespace crlog::cli_test {
namespace {

namespace fs = std::filesystem;

constexpr char kAlice[] = "a11ce000000000000000000000000000";
constexpr char kBob[] = "b0b00000000000000000000000000000";

// One `event` block of `crlog log` text output: "event" -> full id, and one
// entry per "field:  value" line.
using Block = std::map<std::string, std::string>;

std::vector<Block> ParseBlocks(const std::string& text) {
  std::vector<Block> blocks;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("event ", 0) == 0) {
      blocks.emplace_back();
      blocks.back()["event"] = line.substr(6);
      continue;
    }
    size_t colon = line.find(':');
    if (blocks.empty() || line.empty() || line[0] == ' ' || colon == std::string::npos) continue;
    size_t value = line.find_first_not_of(' ', colon + 1);
    blocks.back()[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return blocks;
}

// "site:seq" of a block, or "import".
std::string Who(const Block& b) {
  if (b.at("kind") == "import") return "import";
  return b.at("site") + ":" + b.at("seq");
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t CountLines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// Rewrites the first stored event (position 1) through LMDB's C API, the way
// someone editing the log behind crlog's back would. `edit` gets the stored
// value: 32-byte id, then the canonical bytes (log/format.h). Returns the id.
template <typename Edit>
std::string TamperWithFirstEvent(const fs::path& log_dir, Edit edit) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  EXPECT_EQ(mdb_env_set_maxdbs(env, log::format::kMaxDbs), 0);
  EXPECT_EQ(mdb_env_open(env, log_dir.c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  EXPECT_EQ(mdb_dbi_open(txn, log::format::kEventsDb, 0, &dbi), 0);
  MDB_cursor* cursor = nullptr;
  EXPECT_EQ(mdb_cursor_open(txn, dbi, &cursor), 0);
  MDB_val key{}, val{};
  EXPECT_EQ(mdb_cursor_get(cursor, &key, &val, MDB_FIRST), 0);
  std::string stored(static_cast<const char*>(val.mv_data), val.mv_size);
  std::string key_bytes(static_cast<const char*>(key.mv_data), key.mv_size);
  mdb_cursor_close(cursor);
  std::string id = log::ToHex(std::string_view(stored).substr(0, log::format::kHashSize));
  edit(stored);
  MDB_val new_key{key_bytes.size(), key_bytes.data()};
  MDB_val new_val{stored.size(), stored.data()};
  EXPECT_EQ(mdb_put(txn, dbi, &new_key, &new_val, 0), 0);
  EXPECT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  return id;
}

class CrlogCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    log_ = dir_ / "app.db-crlog";
  }

  RunResult Crlog(const std::vector<std::string>& args) {
    return cli_test::Run(CRLOG_BINARY, args, dir_.string());
  }

  // Writes the demo log into log_ and checks that it worked.
  void WriteDemo() {
    RunResult r = Crlog({"demo", log_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  test_support::TempDir tmp_{"crlog-cli"};
  fs::path dir_;
  fs::path log_;
};

TEST_F(CrlogCliTest, DemoThenLogShowsBothSitesEventsNewestFirst) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"log", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");

  std::vector<Block> blocks = ParseBlocks(r.out);
  std::vector<std::string> order;
  for (const Block& b : blocks) order.push_back(Who(b));
  const std::string a = kAlice, b = kBob;
  EXPECT_EQ(order, (std::vector<std::string>{"import", a + ":3", b + ":2", a + ":2", b + ":1",
                                             a + ":1"}));
  for (const Block& block : blocks) {
    EXPECT_EQ(block.at("event").size(), 64u) << "full id expected: " << block.at("event");
    EXPECT_TRUE(block.count("lamport") && block.count("time") && block.count("parents") &&
                block.count("ops"))
        << block.at("event");
  }
  EXPECT_EQ(blocks.back().at("time"), "2024-05-01T09:00:00Z");
  EXPECT_EQ(blocks.back().at("parents"), "(none)");
}

TEST_F(CrlogCliTest, MergeEventListsBothHeadsAsParents) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"log", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, Block> by_who;
  for (const Block& b : ParseBlocks(r.out)) by_who[Who(b)] = b;
  const std::string a = kAlice, b = kBob;
  ASSERT_EQ(by_who.size(), 6u);

  const Block& merge = by_who[a + ":3"];
  EXPECT_EQ(merge.at("kind"), "change (merge)");
  std::set<std::string> parents;
  std::istringstream in(merge.at("parents"));
  for (std::string p; in >> p;) parents.insert(p);
  std::set<std::string> heads = {by_who[a + ":2"].at("event").substr(0, 12),
                                 by_who[b + ":2"].at("event").substr(0, 12)};
  EXPECT_EQ(parents, heads);
  EXPECT_EQ(merge.at("lamport"), "4");
}

TEST_F(CrlogCliTest, JsonOutputIsOneArrayWithAnObjectPerEvent) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"log", "--json", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::optional<Json> doc = ParseJson(r.out);
  ASSERT_TRUE(doc.has_value()) << "not JSON:\n" << r.out;
  ASSERT_TRUE(doc->is(Json::Type::kArray));
  ASSERT_EQ(doc->items.size(), 6u);

  std::map<std::string, std::string> hash_of;  // "site:seq" -> full id
  long previous_position = 7;
  for (const Json& e : doc->items) {
    ASSERT_TRUE(e.is(Json::Type::kObject));
    for (const char* key : {"position", "hash", "kind", "site", "seq", "lamport", "time_micros",
                            "time", "parents", "ops", "group"}) {
      ASSERT_NE(e.get(key), nullptr) << "missing " << key;
    }
    EXPECT_TRUE(e.get("hash")->is(Json::Type::kString));
    EXPECT_EQ(e.get("hash")->text.size(), 64u);
    EXPECT_TRUE(e.get("time")->is(Json::Type::kString));
    EXPECT_TRUE(e.get("parents")->is(Json::Type::kArray));
    EXPECT_TRUE(e.get("group")->is(Json::Type::kNull));
    long position = std::stol(e.get("position")->text);
    EXPECT_LT(position, previous_position) << "not newest first";
    previous_position = position;
    if (e.get("kind")->text == "import") {
      EXPECT_TRUE(e.get("site")->is(Json::Type::kNull));
      EXPECT_EQ(e.get("seq")->text, "0");
    } else {
      ASSERT_TRUE(e.get("site")->is(Json::Type::kString));
      hash_of[e.get("site")->text + ":" + e.get("seq")->text] = e.get("hash")->text;
    }
  }
  const Json& merge = doc->items[1];
  EXPECT_EQ(merge.get("site")->text, kAlice);
  EXPECT_EQ(merge.get("seq")->text, "3");
  ASSERT_EQ(merge.get("parents")->items.size(), 2u);
  std::set<std::string> parents = {merge.get("parents")->items[0].text,
                                   merge.get("parents")->items[1].text};
  EXPECT_EQ(parents, (std::set<std::string>{hash_of[std::string(kAlice) + ":2"],
                                            hash_of[std::string(kBob) + ":2"]}));
  EXPECT_EQ(doc->items.back().get("time_micros")->text, "1714554000000000");
}

TEST_F(CrlogCliTest, LimitShowsOnlyTheNewestEvents) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"log", "-n", "2", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<Block> blocks = ParseBlocks(r.out);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(Who(blocks[0]), "import");
  EXPECT_EQ(Who(blocks[1]), std::string(kAlice) + ":3");

  r = Crlog({"log", log_.string(), "--limit=1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::optional<Json> doc = ParseJson(r.out);
  ASSERT_TRUE(doc.has_value()) << r.out;
  EXPECT_EQ(doc->items.size(), 1u);

  r = Crlog({"log", "--oneline", "-n3", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountLines(r.out), 3u) << r.out;
}

TEST_F(CrlogCliTest, OnelineShowsOneLinePerEventAndMarksTheMerge) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"log", "--oneline", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountLines(r.out), 6u) << r.out;
  std::istringstream in(r.out);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_NE(first.find(" import - "), std::string::npos) << first;
  EXPECT_NE(second.find("a11ce000:3"), std::string::npos) << second;
  EXPECT_NE(second.find(" merge "), std::string::npos) << second;
}

TEST_F(CrlogCliTest, OpsShowRowsWithSqlValues) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"log", "--ops", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("todo [4] alive (cl 1): title='water the plants' (v1 from c0ffee00)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("todo [1] deleted (cl 2)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done=1 (v2)"), std::string::npos) << r.out;
}

TEST_F(CrlogCliTest, LogOfDatabaseFileReadsTheLogBesideIt) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  std::ofstream(dir_ / "app.db").put('\0');
  RunResult r = Crlog({"log", (dir_ / "app.db").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseBlocks(r.out).size(), 6u);
}

TEST_F(CrlogCliTest, VerifyOfIntactLogPrintsSummaryAndExitsZero) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"verify", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("verified: 6 events, 11 ops, 2 sites, ", 0), 0u) << r.out;
  EXPECT_EQ(r.err, "") << "progress must stay quiet when stderr is not a terminal";
}

TEST_F(CrlogCliTest, VerifyOfTamperedRowValueExitsOneAndNamesTheEvent) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  std::string id = TamperWithFirstEvent(log_, [](std::string& stored) {
    size_t at = stored.find("buy milk");
    ASSERT_NE(at, std::string::npos);
    stored.replace(at, 8, "buy beer");
  });
  RunResult r = Crlog({"verify", log_.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(id.substr(0, 12)), std::string::npos) << "names the event:\n" << r.err;
  EXPECT_NE(r.err.find(log_.string()), std::string::npos) << "names the log:\n" << r.err;
}

// A truncated data.mdb used to kill `crlog verify` and `crlog log` with
// SIGBUS; a 0-byte one became a new, empty log.
TEST_F(CrlogCliTest, ATruncatedOrEmptyLogFileIsNamedInsteadOfCrashing) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  const fs::path data = log_ / "data.mdb";
  for (std::uintmax_t size : {fs::file_size(data) / 2, std::uintmax_t{0}}) {
    fs::resize_file(data, size);
    for (const char* command : {"verify", "log"}) {
      RunResult r = Crlog({command, log_.string()});
      EXPECT_EQ(r.exit_code, 1) << "a damaged log: " << command << " " << size << ": " << r.out << r.err;
      EXPECT_NE(r.err.find(size == 0 ? "is empty (0 bytes)" : "is truncated"), std::string::npos)
          << command << ": " << r.err;
      EXPECT_NE(r.err.find(data.string()), std::string::npos) << r.err;
    }
  }
}

TEST_F(CrlogCliTest, VerifyOfCorruptEventBytesExitsOne) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  std::string id = TamperWithFirstEvent(log_, [](std::string& stored) {
    stored[log::format::kEventValueHeader + 9] ^= 0x40;
  });
  RunResult r = Crlog({"verify", log_.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(id.substr(0, 12)), std::string::npos) << r.err;
}

TEST_F(CrlogCliTest, LogStopsAtAnAlteredEventAndExitsOne) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  std::string id = TamperWithFirstEvent(log_, [](std::string& stored) {
    size_t at = stored.find("buy milk");
    ASSERT_NE(at, std::string::npos);
    stored.replace(at, 8, "buy beer");
  });
  RunResult r = Crlog({"log", "--ops", log_.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out.find("buy beer"), std::string::npos) << "altered content shown:\n" << r.out;
  EXPECT_EQ(ParseBlocks(r.out).size(), 5u) << "the newer, intact events are still shown";
  EXPECT_NE(r.err.find(id), std::string::npos) << r.err;
}

TEST_F(CrlogCliTest, LogAndVerifyLeaveTheLogUnchanged) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  std::string before = ReadFile(log_ / "data.mdb");
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(Crlog({"log", log_.string()}).exit_code, 0);
  EXPECT_EQ(Crlog({"verify", log_.string()}).exit_code, 0);
  EXPECT_EQ(ReadFile(log_ / "data.mdb"), before);
}

TEST_F(CrlogCliTest, LogOfMissingPathFailsNamingThePathAndCreatesNothing) {
  const fs::path missing = dir_ / "nowhere.db";
  RunResult r = Crlog({"log", missing.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(missing.string()), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_FALSE(fs::exists(dir_ / "nowhere.db-crlog"));

  r = Crlog({"verify", missing.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find(missing.string()), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "nowhere.db-crlog"));
}

TEST_F(CrlogCliTest, LogOfDirectoryWithoutALogFailsAndCreatesNothing) {
  const fs::path empty = dir_ / "empty";
  fs::create_directories(empty);
  RunResult r = Crlog({"log", empty.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find(empty.string()), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(empty));
}

TEST_F(CrlogCliTest, LogOfDatabaseWithoutALogSaysWhereItLooked) {
  const fs::path db = dir_ / "plain.db";
  std::ofstream(db).put('\0');
  RunResult r = Crlog({"log", db.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find(db.string() + "-crlog"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "plain.db-crlog"));
}

TEST_F(CrlogCliTest, DemoRefusesADirectoryHoldingALogUnlessForced) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult r = Crlog({"demo", log_.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;

  r = Crlog({"demo", "--force", log_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Crlog({"verify", log_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("verified: 6 events,", 0), 0u) << r.out;
}

TEST_F(CrlogCliTest, DemoWritesTheSameEventsEveryTime) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  RunResult first = Crlog({"log", "--json", log_.string()});
  ASSERT_EQ(Crlog({"demo", "--force", log_.string()}).exit_code, 0);
  RunResult second = Crlog({"log", "--json", log_.string()});
  EXPECT_EQ(first.out, second.out);
}

TEST_F(CrlogCliTest, UnknownCommandExitsTwoWithUsage) {
  RunResult r = Crlog({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: crlog"), std::string::npos) << r.err;
}

TEST_F(CrlogCliTest, BadFlagExitsTwoWithTheCommandsUsage) {
  RunResult r = Crlog({"log", "--bogus", log_.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown flag '--bogus'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: crlog log"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(log_));
}

TEST_F(CrlogCliTest, BadArgumentsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"--bogus"},
           {"log"},
           {"log", "-n"},
           {"log", "-n", "many", "x"},
           {"log", "-n", "-1", "x"},
           {"log", "--json", "--oneline", "x"},
           {"verify", "a", "b"},
           {"verify", "--force", "x"},
           {"demo"},
           {"help", "frobnicate"},
       }) {
    std::string joined;
    for (const std::string& a : args) joined += a + " ";
    RunResult r = Crlog(args);
    EXPECT_EQ(r.exit_code, 2) << "crlog " << joined;
    EXPECT_NE(r.err.find("usage: crlog"), std::string::npos) << "crlog " << joined << "\n" << r.err;
  }
}

TEST_F(CrlogCliTest, HelpDescribesEveryCommand) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}}) {
    RunResult r = Crlog(args);
    EXPECT_EQ(r.exit_code, 0);
    for (const char* command : {"log PATH", "verify PATH", "demo DIR"}) {
      EXPECT_NE(r.out.find(command), std::string::npos) << command << "\n" << r.out;
    }
  }
  for (const char* command : {"log", "verify", "demo"}) {
    RunResult a = Crlog({command, "--help"});
    RunResult b = Crlog({"help", command});
    EXPECT_EQ(a.exit_code, 0);
    EXPECT_EQ(b.exit_code, 0);
    EXPECT_EQ(a.out, b.out);
    EXPECT_EQ(a.out.rfind(std::string("usage: crlog ") + command, 0), 0u) << a.out;
  }
}

}  // namespace
// The short ids a `crlog log --oneline` run printed.
std::vector<std::string> ShownIds(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> ids;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ') ids.push_back(line.substr(0, line.find(' ')));
  }
  return ids;
}

TEST_F(CrlogCliTest, LogFiltersByTableRowSiteAndTime) {
  ASSERT_NO_FATAL_FAILURE(WriteDemo());
  // Every event of the demo, newest first, by who wrote it.
  std::map<std::string, std::string> id_of;
  {
    RunResult all = Crlog({"log", log_.string()});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    for (const Block& b : ParseBlocks(all.out)) id_of[Who(b)] = b.at("event").substr(0, 12);
  }
  const std::string a = kAlice, b = kBob;
  auto shown = [&](std::vector<std::string> filters) {
    std::vector<std::string> args = {"log", "--oneline", log_.string()};
    args.insert(args.end(), filters.begin(), filters.end());
    return ShownIds(Crlog(args));
  };
  // Row 1: written by alice's first two events, deleted by her merge.
  EXPECT_EQ(shown({"--table", "todo", "--pk", "1"}),
            (std::vector<std::string>{id_of[a + ":3"], id_of[a + ":2"], id_of[a + ":1"]}));
  EXPECT_EQ(shown({"--table", "todo", "--pk", "4"}), (std::vector<std::string>{id_of["import"]}));
  EXPECT_TRUE(shown({"--table", "todo", "--pk", "99"}).empty());
  EXPECT_TRUE(shown({"--table", "nope"}).empty());
  EXPECT_EQ(shown({"--site", "B0B"}), (std::vector<std::string>{id_of[b + ":2"], id_of[b + ":1"]}));
  EXPECT_EQ(shown({"--since", "2024-05-01T09:10:00Z", "--until", "2024-05-01T10:00:00Z"}),
            (std::vector<std::string>{id_of[a + ":3"], id_of[b + ":2"]}));
  EXPECT_EQ(shown({"--site", "a11ce", "--table", "todo", "--pk", "2"}), (std::vector<std::string>{id_of[a + ":1"]}));

  RunResult bad = Crlog({"log", "--pk", "1", log_.string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--pk needs --table"), std::string::npos) << bad.err;
  bad = Crlog({"log", "--since", "last tuesday", log_.string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--since wants a time"), std::string::npos) << bad.err;
  bad = Crlog({"log", "--site", "xyz", log_.string()});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace crlog::cli_test
