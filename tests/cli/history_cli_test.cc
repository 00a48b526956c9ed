// The history commands as a user meets them: `crlog blame`, `replay`,
// `diff` and `log --ops`, run as a subprocess on databases whose history was
// written through the loaded extension by two replicas that synced both
// ways (crlog_apply, and INSERT INTO crsql_changes).
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/cli/mini_json.h"
#include "tests/cli/subprocess.h"
#include "tests/merge_sql/merge_sql_util.h"
#include "tools/history_view.h"
#include "tools/pk_text.h"

namespace crlog::cli_test {
namespace {

namespace fs = std::filesystem;
using merge_sql_test::Db;
using merge_sql_test::Execute;
using merge_sql_test::Query;

constexpr char kItems[] = "CREATE TABLE items(id INTEGER PRIMARY KEY NOT NULL, name TEXT, price INTEGER)";

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The lines of `text` that contain `part`.
std::vector<std::string> LinesWith(const std::string& text, const std::string& part) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (Contains(line, part)) out.push_back(line);
  }
  return out;
}

void ApplyAll(Db& from, Db& to) {
  auto bundle = Query(from, "SELECT crlog_export()");
  ASSERT_EQ(bundle.size(), 1u);
  ASSERT_EQ(Execute(to, "SELECT crlog_apply(?)", {bundle[0][0]}), "");
}

class HistoryCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    a_ = (dir_ / "a.db").string();
    b_ = (dir_ / "b.db").string();
  }

  RunResult Crlog(const std::vector<std::string>& args) { return cli_test::Run(CRLOG_BINARY, args, dir_.string()); }

  // A and B replicate items. A inserts three rows, B takes them (crlog_apply);
  // A raises apple's price; both then set pear's price at once (100 on A,
  // 200 on B: the larger value wins); A deletes fig; A imports B's changes
  // through crsql_changes, B applies A's log.
  void WriteHistory() {
    OPEN_REPLICA_AT(a, a_);
    OPEN_REPLICA_AT(b, b_);
    merge_sql_test::MakeCrr(*a, kItems, "items");
    merge_sql_test::MakeCrr(*b, kItems, "items");
    a->Exec("INSERT INTO items VALUES (1, 'apple', 10), (2, 'pear', 3), (3, 'fig', 7)");
    ASSERT_NO_FATAL_FAILURE(ApplyAll(*a, *b));
    a->Exec("UPDATE items SET price = 12 WHERE id = 1");
    a->Exec("UPDATE items SET price = 100 WHERE id = 2");
    b->Exec("UPDATE items SET price = 200 WHERE id = 2");
    a->Exec("DELETE FROM items WHERE id = 3");
    merge_sql_test::SyncCursor cursor;
    ASSERT_EQ(merge_sql_test::SyncOnce(*b, *a, &cursor), "");
    ASSERT_NO_FATAL_FAILURE(ApplyAll(*a, *b));
    site_a_ = merge_sql_test::Hex(merge_sql_test::SiteOf(*a)).substr(0, 8);
    site_b_ = merge_sql_test::Hex(merge_sql_test::SiteOf(*b)).substr(0, 8);
    for (const auto& row : Query(*a, "SELECT hash FROM crlog_events ORDER BY position")) ids_.push_back(row[0].bytes);
  }

  merge_sql_test::TempDir tmp_;  // a fresh directory of its own, removed after
  fs::path dir_;
  std::string a_, b_;
  std::string site_a_, site_b_;
  std::vector<std::string> ids_;  // A's events, in arrival order
};

TEST_F(HistoryCliTest, BlameNamesTheWriterOfEachCellAndHistoryListsEarlierValues) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  RunResult r = Crlog({"blame", a_, "items", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "table 'items' row (2): alive")) << r.out;
  auto price = LinesWith(r.out, "  price ");
  ASSERT_EQ(price.size(), 1u) << r.out;
  EXPECT_TRUE(Contains(price[0], "200")) << price[0];
  EXPECT_TRUE(Contains(price[0], site_b_)) << "B wrote the winning value: " << price[0];
  EXPECT_TRUE(Contains(price[0], "(arrived)")) << "it came in an import, which carries no writer's time: " << price[0];

  r = Crlog({"blame", "--history", a_, "items", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string history = r.out.substr(r.out.find("history, oldest first:"));
  std::vector<std::string> prices = LinesWith(history, "  price ");
  ASSERT_EQ(prices.size(), 3u) << history;
  EXPECT_TRUE(Contains(prices[0], " 3 ") && Contains(prices[0], site_a_)) << prices[0];
  EXPECT_TRUE(Contains(prices[1], " 100 ") && Contains(prices[1], site_a_)) << prices[1];
  EXPECT_TRUE(Contains(prices[2], " 200 ") && Contains(prices[2], site_b_)) << prices[2];

  r = Crlog({"blame", "--history", "--json", a_, "items", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::optional<Json> json = ParseJson(r.out);
  ASSERT_TRUE(json.has_value()) << r.out;
  EXPECT_EQ(json->get("exists")->type, Json::Type::kBool);
  EXPECT_FALSE(json->get("exists")->boolean) << "fig was deleted";
  EXPECT_EQ(json->get("pk")->items.at(0).text, "3");
  ASSERT_TRUE(json->get("existence")->is(Json::Type::kObject));
  EXPECT_EQ(json->get("existence")->get("event")->text, ids_.at(4)) << "the delete, A's fifth event";
  const Json* entries = json->get("history");
  ASSERT_NE(entries, nullptr);
  std::vector<std::string> names;
  for (const Json& e : entries->items) {
    if (e.get("column")->is(Json::Type::kString) && e.get("column")->text == "name") {
      names.push_back(e.get("value")->text);
    }
  }
  EXPECT_EQ(names, std::vector<std::string>{"fig"});
}

TEST_F(HistoryCliTest, LogOpsShowsOldAndNewValuesDeletesAndLostWrites) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  RunResult a = Crlog({"log", "--ops", "--oneline", a_});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_TRUE(Contains(a.out, "    items (1) price: 10 -> 12\n")) << a.out;
  EXPECT_TRUE(Contains(a.out, "    items (2) price: 3 -> 100\n")) << a.out;
  EXPECT_TRUE(Contains(a.out, "    items (3) deleted\n")) << a.out;
  EXPECT_TRUE(Contains(a.out, "    items (2) price: 100 -> 200\n")) << "B's write, imported, won: " << a.out;
  EXPECT_TRUE(Contains(a.out, "    items (1) inserted\n    items (1) name: (none) -> 'apple'\n")) << a.out;

  RunResult b = Crlog({"log", "--ops", "--oneline", b_});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_TRUE(Contains(b.out, "    items (2) price: 3 -> 200\n")) << b.out;
  EXPECT_TRUE(Contains(b.out, "    items (2) price: 200 -> 100 (lost to a concurrent write; the cell holds 200)\n"))
      << "A's write reached B after B's own and lost: " << b.out;

  // --limit and the row filter still apply; the row is replayed alone.
  RunResult one = Crlog({"log", "--ops", "--oneline", "-n", "1", "--table", "items", "--pk", "1", a_});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(LinesWith(one.out, "    items").size(), 1u) << one.out;
  EXPECT_TRUE(Contains(one.out, "    items (1) price: 10 -> 12\n")) << one.out;

  RunResult json = Crlog({"log", "--json", "--ops", b_});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  std::optional<Json> events = ParseJson(json.out);
  ASSERT_TRUE(events.has_value()) << json.out;
  bool saw_lost = false, saw_delete = false;
  for (const Json& e : events->items) {
    ASSERT_TRUE(e.get("changes") && e.get("changes")->is(Json::Type::kArray)) << "every event lists its changes";
    EXPECT_TRUE(e.get("ops")->is(Json::Type::kNumber)) << "\"ops\" stays the op count";
    for (const Json& c : e.get("changes")->items) {
      EXPECT_EQ(c.get("table")->text, "items");
      if (c.get("change")->text == "delete") saw_delete = true;
      if (c.get("change")->text == "set" && c.get("lost")->boolean) {
        saw_lost = true;
        EXPECT_EQ(c.get("column")->text, "price");
        EXPECT_EQ(c.get("pk")->items.at(0).text, "2");
        EXPECT_EQ(c.get("old")->text, "200");
        EXPECT_EQ(c.get("new")->text, "100");
        EXPECT_EQ(c.get("now")->text, "200");
      }
    }
  }
  EXPECT_TRUE(saw_lost);
  EXPECT_TRUE(saw_delete);
}

TEST_F(HistoryCliTest, ReplayWritesTheTablesAtAPoint) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  const std::string head = (dir_ / "head.db").string();
  RunResult r = Crlog({"replay", a_, "--at", "head", "--out", head});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "items  2 rows")) << r.out;
  EXPECT_EQ(r.err, "") << "quiet when stderr is not a terminal";
  {
    Db plain(head, /*load_extension=*/false);
    Db live(a_, /*load_extension=*/false);
    EXPECT_EQ(merge_sql_test::TableLines(plain, "items"), merge_sql_test::TableLines(live, "items"));
    EXPECT_TRUE(plain.Rows("SELECT name FROM sqlite_schema WHERE name LIKE 'crlog%'").empty())
        << "an ordinary SQLite file";
  }
  // Just before the delete (A's fifth event), fig is there.
  const std::string before = (dir_ / "before.db").string();
  r = Crlog({"replay", a_, "--at", ids_.at(3).substr(0, 10), "--out", before});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    Db plain(before, /*load_extension=*/false);
    EXPECT_EQ(merge_sql_test::TableLines(plain, "items"),
              (std::vector<std::string>{"1|'apple'|12", "2|'pear'|100", "3|'fig'|7"}));
  }
  r = Crlog({"replay", a_, "--at", "head", "--out", before});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(Contains(r.err, "already exists")) << r.err;
  r = Crlog({"replay", a_, "--at", "head", "--out", before, "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Crlog({"replay", a_, "--at", "head", "--out", a_, "--force"});
  EXPECT_EQ(r.exit_code, 3) << "never over the database itself";
  EXPECT_TRUE(fs::exists(a_));
}

// `replay --out DB-crlog/data.mdb --force` used to overwrite the log (exit
// 0), and the companion files likewise; `demo --force DB-crlog` destroyed
// a live history. Refused, --force or not, and nothing changes.
TEST_F(HistoryCliTest, NoOutputPathMayBeALogOrADatabasesCompanionFile) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  const std::string log = a_ + "-crlog";
  const std::uintmax_t log_bytes = fs::file_size(log + "/data.mdb");
  for (const std::string& out : {log + "/data.mdb", log + "/lock.mdb", log + "/new.db", a_ + "-wal",
                                 a_ + "-journal", a_ + "-shm", a_}) {
    for (const char* command : {"replay", "graph"}) {
      std::vector<std::string> args = {command, a_, "--out", out};
      if (std::string(command) == "replay") args.push_back("--force");
      RunResult r = Crlog(args);
      EXPECT_EQ(r.exit_code, 3) << command << " --out " << out << ": " << r.out << r.err;
      EXPECT_TRUE(Contains(r.err, "would destroy a history")) << r.err;
    }
  }
  EXPECT_EQ(fs::file_size(log + "/data.mdb"), log_bytes);
  EXPECT_FALSE(fs::exists(log + "/new.db"));
  RunResult r = Crlog({"demo", log, "--force"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, "is the log of a database")) << r.err;
  EXPECT_EQ(fs::file_size(log + "/data.mdb"), log_bytes);
  r = Crlog({"verify", a_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// `crlog verify notadb.txt` used to exit 1 ("failed verification"), as if
// a replica had been found at fault; `--pk X'0'` was taken as the text
// "X'0'" and named a row the user did not mean.
TEST_F(HistoryCliTest, AFileThatIsNoDatabaseAndABadBlobLiteralAreUsageErrors) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  const std::string text = (dir_ / "notadb.txt").string();
  std::ofstream(text) << "this is not a database, it is text\n";
  RunResult r = Crlog({"verify", text});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, "cannot read")) << r.err;
  EXPECT_FALSE(Contains(r.err, "failed verification")) << r.err;
  for (const char* bad : {"X'0'", "x'abc'", "X'zz'"}) {
    r = Crlog({"blame", a_, "items", bad});
    EXPECT_EQ(r.exit_code, 3) << bad << ": " << r.out << r.err;
    EXPECT_TRUE(Contains(r.err, "is not a blob literal")) << r.err;
    r = Crlog({"log", a_, "--table", "items", "--pk", bad});
    EXPECT_EQ(r.exit_code, 3) << bad << ": " << r.out << r.err;
    EXPECT_TRUE(Contains(r.err, "is not a blob literal")) << r.err;
  }
}

// Whether `text` is valid UTF-8 with no control character but newline.
bool SafeForATerminal(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Whether Debian's Python parses `text` as JSON, strictly (no NaN or
// Infinity literals, no invalid UTF-8).
bool ParsesAsJson(const fs::path& dir, const std::string& text) {
  const fs::path file = dir / "out.json";
  std::ofstream(file, std::ios::binary) << text;
  const std::string cmd = absl::StrCat(
      "/usr/bin/python3 -c \"import json,sys; json.loads(open(sys.argv[1], encoding='utf-8', errors='strict').read(), "
      "parse_constant=lambda c: sys.exit(1))\" '", file.string(), "'");
  return std::system(cmd.c_str()) == 0;
}

// Cell values come from peers: ESC, BEL, NUL and broken UTF-8 in them used to
// reach the auditor's terminal raw, and --json wrote invalid UTF-8 (not
// JSON) and ±Inf as the strings "Infinity".
TEST_F(HistoryCliTest, HostileCellValuesCannotReachTheTerminalAndJsonStaysJson) {
  std::string first;
  {
    OPEN_REPLICA_AT(a, a_);
    merge_sql_test::MakeCrr(*a, kItems, "items");
    a->Exec("INSERT INTO items VALUES (1, 'plain', 1)");
    a->Exec("INSERT INTO items VALUES (2, char(27) || '[31mred' || char(7) || 'x' || char(0) || 'y', 1e999)");
    a->Exec("INSERT INTO items VALUES (3, CAST(X'41ff42c0' AS TEXT), -1e999)");
    a->Exec("UPDATE items SET name = char(27) || ']0;title' || char(7) WHERE id = 1");
    first = Query(*a, "SELECT hash FROM crlog_events ORDER BY position LIMIT 1").at(0).at(0).bytes;
  }
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"log", a_, "--ops"}, {"blame", a_, "items", "1"}, {"blame", a_, "items", "2"},
           {"blame", a_, "items", "3"}, {"diff", a_, first, "head"}}) {
    RunResult human = Crlog(command);
    ASSERT_EQ(human.exit_code, 0) << human.err;
    EXPECT_TRUE(SafeForATerminal(human.out)) << absl::StrJoin(command, " ") << ":\n" << human.out;
    EXPECT_TRUE(Contains(human.out, "\\x")) << "escaped, not dropped: " << absl::StrJoin(command, " ") << ":\n"
                                             << human.out;
    std::vector<std::string> json = command;
    json.push_back("--json");
    RunResult machine = Crlog(json);
    ASSERT_EQ(machine.exit_code, 0) << machine.err;
    EXPECT_TRUE(ParsesAsJson(dir_, machine.out)) << absl::StrJoin(json, " ") << ":\n" << machine.out;
  }
  RunResult json = Crlog({"blame", a_, "items", "2", "--json"});
  EXPECT_TRUE(Contains(json.out, "{\"real\":\"Infinity\"}")) << json.out;
}

// A subnormal REAL (below 2.2e-308) used to abort every --json view of it:
// the search for its shortest text read candidates back with std::stod,
// which throws std::out_of_range on underflow.
TEST_F(HistoryCliTest, SubnormalRealsAreJsonNumbers) {
  std::string first;
  {
    OPEN_REPLICA_AT(a, a_);
    merge_sql_test::MakeCrr(*a, kItems, "items");
    a->Exec("INSERT INTO items VALUES (1, 'tiny', 5e-324)");
    a->Exec("UPDATE items SET price = 1e-310 WHERE id = 1");
    first = Query(*a, "SELECT hash FROM crlog_events ORDER BY position LIMIT 1").at(0).at(0).bytes;
  }
  for (const auto& command : std::vector<std::vector<std::string>>{{"log", a_, "--ops", "--json"},
                                                                   {"blame", a_, "items", "1", "--history", "--json"},
                                                                   {"diff", a_, first, "head", "--json"}}) {
    RunResult r = Crlog(command);
    ASSERT_EQ(r.exit_code, 0) << absl::StrJoin(command, " ") << ":\n" << r.err;
    EXPECT_TRUE(ParsesAsJson(dir_, r.out)) << absl::StrJoin(command, " ") << ":\n" << r.out;
    EXPECT_TRUE(Contains(r.out, "1e-310")) << absl::StrJoin(command, " ") << ":\n" << r.out;
  }
  RunResult blame = Crlog({"blame", a_, "items", "1", "--history", "--json"});
  EXPECT_TRUE(Contains(blame.out, "\"value\":5e-324,")) << blame.out;
}

// Held events (refused by the database's tables) are marked in `crlog log`.
TEST_F(HistoryCliTest, LogMarksTheEventsTheDatabaseHolds) {
  {
    OPEN_REPLICA_AT(a, a_);
    OPEN_REPLICA_AT(b, b_);
    merge_sql_test::MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v INTEGER)", "t");
    merge_sql_test::MakeCrr(*b, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v INTEGER CHECK (v < 100))", "t");
    a->Exec("INSERT INTO t VALUES (1, 500)");
    ASSERT_NO_FATAL_FAILURE(ApplyAll(*a, *b));
  }
  RunResult r = Crlog({"log", b_, "--oneline"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  EXPECT_TRUE(Contains(r.out, " HELD\n")) << r.out;
  r = Crlog({"log", b_});
  EXPECT_TRUE(Contains(r.out, "held:     event ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "CHECK constraint failed")) << r.out;
  r = Crlog({"log", b_, "--json"});
  EXPECT_TRUE(Contains(r.out, "\"held\":\"event ")) << r.out;
  EXPECT_TRUE(ParsesAsJson(dir_, r.out)) << r.out;
}

TEST_F(HistoryCliTest, DiffShowsChangedAddedAndRemovedRows) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  const std::string inserted = ids_.at(1);  // A's insert of the three rows (after its schema)
  RunResult r = Crlog({"diff", a_, inserted, "head"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "table 'items' row (1): price 10 -> 12\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "table 'items' row (2): price 3 -> 200\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "table 'items' - row (3): name='fig', price=7\n")) << r.out;

  r = Crlog({"diff", "--json", a_, "head", inserted});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::optional<Json> json = ParseJson(r.out);
  ASSERT_TRUE(json.has_value()) << r.out;
  const Json& tables = *json->get("tables");
  ASSERT_EQ(tables.items.size(), 1u);
  const Json& items = tables.items[0];
  EXPECT_EQ(items.get("table")->text, "items");
  ASSERT_EQ(items.get("only_in_b")->items.size(), 1u) << "fig is only at the earlier point, B here";
  EXPECT_EQ(items.get("only_in_b")->items[0].get("values")->get("name")->text, "fig");
  ASSERT_EQ(items.get("changed")->items.size(), 2u);
  const Json& cell = items.get("changed")->items[1].get("cells")->items.at(0);
  EXPECT_EQ(cell.get("column")->text, "price");
  EXPECT_EQ(cell.get("a")->text, "200");
  EXPECT_EQ(cell.get("b")->text, "3");

  r = Crlog({"diff", a_, "head", "head"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "no differences")) << r.out;
}

TEST_F(HistoryCliTest, BadInputGetsAClearMessageAndExitCode) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"blame", a_, "nope", "1"}, 3, "table 'nope' is not replicated"},
      {{"blame", a_, "items", "1", "2"}, 3, "primary key of 1 column (id) but 2 values were given"},
      {{"blame", a_, "items", "9"}, 3, "has no row (9)"},
      {{"blame", a_, "items", "-1"}, 3, "has no row (-1)"},
      {{"blame", (dir_ / "missing.db").string(), "items", "1"}, 3, "does not exist"},
      {{"replay", a_, "--at", "ffffffff", "--out", (dir_ / "x.db").string()}, 3,
       "point 'ffffffff': no event in the log"},
      {{"replay", a_, "--at", "1999-01-01", "--out", (dir_ / "x.db").string()}, 3, "no event had arrived"},
      {{"diff", a_, "head", "zz:1"}, 3, "'zz:1' is not a point"},
      {{"diff", a_, "head", "abc"}, 3, "at least 4 hex digits"},
      {{"blame", a_, "items"}, 2, "missing PK"},
      {{"blame", "--bogus", a_, "items", "1"}, 2, "unknown flag '--bogus'"},
      {{"replay", a_, "--at", "head"}, 2, "missing --out FILE"},
      {{"replay", a_, "--out"}, 2, "--out wants a file name"},
      {{"diff", a_, "head"}, 2, "diff wants DB POINT_A POINT_B"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += a + " ";
    RunResult r = Crlog(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << "crlog " << joined << "\n" << r.err;
    EXPECT_TRUE(Contains(r.err, c.message)) << "crlog " << joined << "\n" << r.err;
    if (c.exit_code == 2) {
      EXPECT_TRUE(Contains(r.err, "usage: crlog ")) << r.err;
    }
  }
  EXPECT_FALSE(fs::exists(dir_ / "x.db")) << "a failed replay writes nothing";
}

TEST_F(HistoryCliTest, AnAmbiguousEventPrefixIsRefusedNamingIt) {
  // Enough events that two of them share their first four hex digits.
  const std::string path = (dir_ / "many.db").string();
  std::string prefix;
  {
    OPEN_REPLICA_AT(db, path);
    merge_sql_test::MakeCrr(*db, kItems, "items");
    for (int round = 0; round < 20 && prefix.empty(); ++round) {
      for (int i = 0; i < 200; ++i) {
        ASSERT_EQ(Execute(*db, "INSERT INTO items VALUES (?, 'x', 1)", {Value::Integer(round * 200 + i)}), "");
      }
      auto shared = Query(*db,
                          "SELECT substr(hash, 1, 4) FROM crlog_events GROUP BY 1 HAVING count(*) > 1 LIMIT 1");
      if (!shared.empty()) prefix = shared[0][0].bytes;
    }
  }
  ASSERT_FALSE(prefix.empty()) << "4000 events and no shared 4-digit prefix";
  RunResult r = Crlog({"diff", path, prefix, "head"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(Contains(r.err, absl::StrCat("point '", prefix, "'"))) << r.err;
  EXPECT_TRUE(Contains(r.err, "more than one") || Contains(r.err, "ambiguous")) << r.err;
}

TEST(PlainValueTest, TypedValuesNameTheColumnValueTheyMostLikelyMean) {
  using tools::PlainValue;
  EXPECT_EQ(PlainValue("42"), Value::Integer(42));
  EXPECT_EQ(PlainValue("-7"), Value::Integer(-7));
  EXPECT_EQ(PlainValue("1.5"), Value::Real(1.5));
  EXPECT_EQ(PlainValue("2e3"), Value::Real(2000));
  EXPECT_EQ(PlainValue("apple"), Value::Text("apple"));
  EXPECT_EQ(PlainValue("'42'"), Value::Text("42")) << "single quotes make text";
  EXPECT_EQ(PlainValue("'it''s'"), Value::Text("it's"));
  EXPECT_EQ(PlainValue("X'00ff'"), Value::Blob(std::string("\x00\xff", 2)));
  EXPECT_EQ(PlainValue("X'0'"), Value::Text("X'0'")) << "an odd number of hex digits is no blob";
  EXPECT_EQ(tools::PkTuple(tools::PackPlainPk({"1", "'a'"})), "(1, 'a')");
}

TEST(ValueJsonTest, ValuesAreJsonOfTheirType) {
  EXPECT_EQ(tools::ValueJson(Value::Integer(-3)), "-3");
  EXPECT_EQ(tools::ValueJson(Value::Real(0.1)), "0.1");
  EXPECT_EQ(tools::ValueJson(Value::Real(2)), "2.0") << "a real reads back as a real";
  EXPECT_EQ(tools::ValueJson(Value::Text("a\"b")), "\"a\\\"b\"");
  EXPECT_EQ(tools::ValueJson(Value::Blob("\x01")), "{\"blob\":\"01\"}");
  EXPECT_EQ(tools::ValueJson(Value::Null()), "null");
  EXPECT_EQ(tools::PkJson(tools::PackPlainPk({"1", "x"})), "[1,\"x\"]");
}

}  // namespace
}  // namespace crlog::cli_test
