// crlog::History through the public API: how a row is named by its pk
// values, a cell's versions, replay and diff between points, and the errors
// a caller meets.
#include "crlog/history.h"

#include <sqlite3.h>

#include "crlog/replica.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/api_test_util.h"

namespace crlog::api_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class HistoryApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    auto replica = Replica::Open(File("h.db"));
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
    for (const char* sql : {"CREATE TABLE tag(name TEXT PRIMARY KEY NOT NULL, uses INTEGER)",
                            "CREATE TABLE item(id INTEGER PRIMARY KEY NOT NULL, title TEXT)",
                            "CREATE TABLE local_only(id INTEGER PRIMARY KEY, x)"}) {
      ASSERT_TRUE(replica_->Execute(sql).ok()) << sql;
    }
    ASSERT_TRUE(replica_->Replicate("tag").ok());
    ASSERT_TRUE(replica_->Replicate("item").ok());
    // Making tables replicated writes events of its own; writes count from here.
    auto versions = replica_->Versions();
    ASSERT_TRUE(versions.ok()) << versions.status();
    setup_events_ = versions->count(replica_->site()) ? versions->at(replica_->site()) : 0;
  }

  std::unique_ptr<History> OpenHistory() {
    auto history = replica_->OpenHistory();
    EXPECT_TRUE(history.ok()) << history.status();
    return history.ok() ? *std::move(history) : nullptr;
  }

  // The point naming this replica's n-th write after SetUp.
  std::string OwnEvent(uint64_t n) const {
    return ToHex(replica_->site()) + ":" + std::to_string(setup_events_ + n);
  }

  std::unique_ptr<Replica> replica_;
  uint64_t setup_events_ = 0;
};

std::string CellText(const RowBlame& blame, const std::string& column) {
  for (const CellBlame& cell : blame.cells) {
    if (cell.column == column) return ValueToString(cell.value);
  }
  return "(no column " + column + ")";
}

// A pk value names the row SQLite would have stored for it: the real 1.50
// inserted into a TEXT key is stored as the text '1.5', and the text '7' in
// an INTEGER key is the integer 7. Blame converts the same way, so a caller
// holding the value it inserted finds its row.
TEST_F(HistoryApiTest, BlameNamesARowByItsPkValuesConvertedAsTheColumnStoresThem) {
  ASSERT_TRUE(replica_->Execute("INSERT INTO tag VALUES (1.50, 3)").ok());
  ASSERT_TRUE(replica_->Execute("INSERT INTO item VALUES (7, 'seven')").ok());
  ASSERT_EQ(QueryText(replica_->db(), "SELECT typeof(name) || ':' || name FROM tag"), "text:1.5");
  auto history = OpenHistory();
  ASSERT_TRUE(history);

  for (const Value& pk : {Value::Real(1.50), Value::Text("1.5")}) {
    auto blame = history->Blame("tag", {pk});
    ASSERT_TRUE(blame.ok()) << ValueToString(pk) << ": " << blame.status();
    EXPECT_TRUE(blame->exists) << ValueToString(pk);
    EXPECT_EQ(CellText(*blame, "uses"), "3") << ValueToString(pk);
    EXPECT_EQ(blame->pk, PackPrimaryKey({Value::Text("1.5")}));
  }
  // Text is not reparsed in a TEXT key: '1.50' is another row, never seen.
  auto other = history->Blame("tag", {Value::Text("1.50")});
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(absl::IsNotFound(other.status())) << other.status();
  EXPECT_THAT(other.status().message(), HasSubstr("'1.50'"));

  for (const Value& pk : {Value::Integer(7), Value::Text("7"), Value::Real(7.0)}) {
    auto blame = history->Blame("item", {pk});
    ASSERT_TRUE(blame.ok()) << ValueToString(pk) << ": " << blame.status();
    EXPECT_TRUE(blame->exists) << ValueToString(pk);
    EXPECT_EQ(CellText(*blame, "title"), "'seven'") << ValueToString(pk);
    ASSERT_TRUE(blame->cells[0].written_by.has_value());
    EXPECT_EQ(blame->cells[0].written_by->site, replica_->site());
  }
}

TEST_F(HistoryApiTest, BlameOfATableThatIsNotReplicatedIsNotFoundAndListsTheReplicatedOnes) {
  auto history = OpenHistory();
  ASSERT_TRUE(history);
  auto blame = history->Blame("local_only", {Value::Integer(1)});
  ASSERT_FALSE(blame.ok());
  EXPECT_TRUE(absl::IsNotFound(blame.status())) << blame.status();
  EXPECT_THAT(blame.status().message(), HasSubstr("'local_only' is not replicated"));
  EXPECT_THAT(blame.status().message(), HasSubstr("item"));
  EXPECT_THAT(blame.status().message(), HasSubstr("tag"));
}

TEST_F(HistoryApiTest, BlameWithTheWrongNumberOfPkValuesIsRefusedNamingTheKey) {
  auto history = OpenHistory();
  ASSERT_TRUE(history);
  auto blame = history->Blame("item", {Value::Integer(1), Value::Integer(2)});
  ASSERT_FALSE(blame.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(blame.status())) << blame.status();
  EXPECT_THAT(blame.status().message(), HasSubstr("id"));
}

TEST_F(HistoryApiTest, CellHistoryListsEveryValueOldestFirst) {
  ASSERT_TRUE(replica_->Execute("INSERT INTO item VALUES (1, 'milk')").ok());
  ASSERT_TRUE(replica_->Execute("UPDATE item SET title = 'oat milk' WHERE id = 1").ok());
  ASSERT_TRUE(replica_->Execute("UPDATE item SET title = 'soy milk' WHERE id = 1").ok());
  auto history = OpenHistory();
  ASSERT_TRUE(history);
  auto versions = history->CellHistory("item", {Value::Text("1")});
  ASSERT_TRUE(versions.ok()) << versions.status();
  std::vector<std::string> titles;
  for (const CellVersion& v : *versions) {
    if (v.column == "title") titles.push_back(ValueToString(v.value));
    EXPECT_EQ(v.written_by.site, replica_->site());
  }
  EXPECT_THAT(titles, ElementsAre("'milk'", "'oat milk'", "'soy milk'"));

  // Up to the first event, only the first value.
  auto first = history->CellHistory("item", {Value::Integer(1)}, OwnEvent(1));
  ASSERT_TRUE(first.ok()) << first.status();
  titles.clear();
  for (const CellVersion& v : *first) {
    if (v.column == "title") titles.push_back(ValueToString(v.value));
  }
  EXPECT_THAT(titles, ElementsAre("'milk'"));
}

TEST_F(HistoryApiTest, ReplayAndDiffShowTheTablesAsTheyStoodAtEachPoint) {
  ASSERT_TRUE(replica_->Execute("INSERT INTO item VALUES (1, 'milk'), (2, 'bread')").ok());
  ASSERT_TRUE(replica_->Execute("UPDATE item SET title = 'oat milk' WHERE id = 1").ok());
  ASSERT_TRUE(replica_->Execute("DELETE FROM item WHERE id = 2").ok());
  auto history = OpenHistory();
  ASSERT_TRUE(history);

  const std::string then = File("then.db");
  auto replayed = history->ReplayToFile(OwnEvent(1), then);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->events, setup_events_ + 1);  // the write and its causal past
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(then.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  EXPECT_EQ(QueryText(db, "SELECT group_concat(id || ':' || title, ',') FROM (SELECT * FROM item ORDER BY id)"),
            "1:milk,2:bread");
  // An ordinary SQLite file: none of crlog's own tables.
  EXPECT_EQ(QueryText(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'crsql%' OR name LIKE 'crlog%'"),
            "0");
  sqlite3_close(db);

  // Replay refuses to write over a file.
  auto again = history->ReplayToFile(OwnEvent(1), then);
  EXPECT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr(then));

  auto diff = history->Diff(OwnEvent(1), "head");
  ASSERT_TRUE(diff.ok()) << diff.status();
  ASSERT_EQ(diff->tables.size(), 1u);
  const TableDiff& item = diff->tables[0];
  EXPECT_EQ(item.table, "item");
  ASSERT_EQ(item.only_in_a.size(), 1u);
  EXPECT_EQ(ValueToString(item.only_in_a[0].pk_values.at(0)), "2");
  EXPECT_TRUE(item.only_in_b.empty());
  ASSERT_EQ(item.changed.size(), 1u);
  ASSERT_EQ(item.changed[0].cells.size(), 1u);
  EXPECT_EQ(item.changed[0].cells[0].column, "title");
  EXPECT_EQ(ValueToString(item.changed[0].cells[0].a), "'milk'");
  EXPECT_EQ(ValueToString(item.changed[0].cells[0].b), "'oat milk'");

  auto same = history->Diff("head", "head");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->empty());
}

TEST_F(HistoryApiTest, APointThatNamesNothingIsNotFoundAndQuotesIt) {
  auto history = OpenHistory();
  ASSERT_TRUE(history);
  auto point = history->ResolvePoint(OwnEvent(99));
  ASSERT_FALSE(point.ok());
  EXPECT_TRUE(absl::IsNotFound(point.status())) << point.status();
  EXPECT_THAT(point.status().message(), HasSubstr(OwnEvent(99)));
  auto garbage = history->ResolvePoint("not a point");
  ASSERT_FALSE(garbage.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(garbage.status())) << garbage.status();
}

}  // namespace
}  // namespace crlog::api_test
