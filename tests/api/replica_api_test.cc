// crlog::Replica: open, write, export and apply between two replicas, attach
// to an application's connection, and the errors a user meets.
#include "crlog/replica.h"

#include <sqlite3.h>

#include <filesystem>

#include "crlog/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/api_test_util.h"

namespace crlog::api_test {
namespace {

using ::testing::HasSubstr;

class ReplicaApiTest : public ApiTest {
 protected:
  std::unique_ptr<Replica> OpenWithTodo(const std::string& name) {
    auto replica = Replica::Open(File(name));
    EXPECT_TRUE(replica.ok()) << replica.status();
    if (!replica.ok()) return nullptr;
    EXPECT_TRUE((*replica)->Execute("CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT)").ok());
    EXPECT_TRUE((*replica)->Replicate("todo").ok());
    return *std::move(replica);
  }
};

TEST_F(ReplicaApiTest, WritesExportedFromOneReplicaApplyToAnother) {
  auto a = OpenWithTodo("a.db");
  auto b = OpenWithTodo("b.db");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Execute("INSERT INTO todo VALUES (1, 'milk'), (2, 'bread')").ok());
  ASSERT_TRUE(a->Execute("UPDATE todo SET title = 'oat milk' WHERE id = 1").ok());

  auto bundle = a->Export();
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  auto applied = b->Apply(*bundle);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_GT(applied->events_added, 0u);
  EXPECT_EQ(applied->events_held, 0u);
  EXPECT_EQ(QueryText(b->db(), "SELECT group_concat(id || ':' || title, ',') FROM (SELECT * FROM todo ORDER BY id)"),
            "1:oat milk,2:bread");

  // Applying again adds nothing; b's log now holds a's events.
  auto again = b->Apply(*bundle);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->events_added, 0u);
  auto va = a->Versions();
  auto vb = b->Versions();
  ASSERT_TRUE(va.ok() && vb.ok());
  EXPECT_EQ(va->at(a->site()), vb->at(a->site()));
}

TEST_F(ReplicaApiTest, EventsSinceAVersionVectorAreOnlyWhatThePeerLacks) {
  auto a = OpenWithTodo("a.db");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Execute("INSERT INTO todo VALUES (1, 'milk')").ok());
  auto known = a->Versions();
  auto heads = a->Heads();
  ASSERT_TRUE(known.ok() && heads.ok());
  ASSERT_TRUE(a->Execute("INSERT INTO todo VALUES (2, 'bread')").ok());
  auto missing = a->EventsSince(*known, *heads);
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_EQ(missing->size(), 1u);
  auto event = (*missing)[0].Decode();
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->site, a->site());
  EXPECT_EQ(event->seq, known->at(a->site()) + 1);
}

TEST_F(ReplicaApiTest, AGarbledBundleIsRefusedAndChangesNothing) {
  auto a = OpenWithTodo("a.db");
  auto b = OpenWithTodo("b.db");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Execute("INSERT INTO todo VALUES (1, 'milk')").ok());
  auto bundle = a->Export();
  ASSERT_TRUE(bundle.ok());
  std::string truncated = bundle->substr(0, bundle->size() - 3);
  auto before = b->log().Stats();
  auto applied = b->Apply(truncated);
  EXPECT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument) << applied.status();
  EXPECT_EQ(QueryText(b->db(), "SELECT count(*) FROM todo"), "0");
  auto after = b->log().Stats();
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(before->events, after->events);
}

TEST_F(ReplicaApiTest, OpeningAMissingDatabaseWithoutCreateIsNotFoundAndNamesIt) {
  OpenOptions options;
  options.create_if_missing = false;
  auto replica = Replica::Open(File("missing.db"), options);
  ASSERT_FALSE(replica.ok());
  EXPECT_EQ(replica.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(replica.status().message()), HasSubstr("missing.db"));
  EXPECT_FALSE(std::filesystem::exists(File("missing.db")));
}

TEST_F(ReplicaApiTest, ADatabaseWhoseLogBelongsToAnotherIsRefused) {
  { ASSERT_TRUE(OpenWithTodo("a.db")); }
  { ASSERT_TRUE(OpenWithTodo("b.db")); }
  // b.db's log moved beside a.db: the log belongs to another database.
  std::filesystem::remove_all(File("a.db-crlog"));
  std::filesystem::rename(File("b.db-crlog"), File("a.db-crlog"));
  auto replica = Replica::Open(File("a.db"));
  ASSERT_FALSE(replica.ok());
  EXPECT_THAT(std::string(replica.status().message()), HasSubstr("a.db"));
}

TEST_F(ReplicaApiTest, AttachingToTheApplicationsConnectionCapturesItsWrites) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(File("app.db").c_str(), &db), SQLITE_OK);
  {
    auto replica = Replica::Attach(db);
    ASSERT_TRUE(replica.ok()) << replica.status();
    EXPECT_EQ((*replica)->db(), db);
    ExecOrFail(db, "CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT)");
    ASSERT_TRUE((*replica)->Replicate("todo").ok());
    auto before = (*replica)->log().Stats();
    ExecOrFail(db, "INSERT INTO todo VALUES (1, 'milk')");
    auto after = (*replica)->log().Stats();
    ASSERT_TRUE(before.ok() && after.ok());
    EXPECT_EQ(after->events, before->events + 1);
    // The SQL surface is there too.
    EXPECT_EQ(QueryText(db, "SELECT count(*) FROM crsql_changes WHERE \"table\" = 'todo'"), "1");
  }
  // The Replica borrowed the connection: it is still open and usable.
  EXPECT_EQ(QueryText(db, "SELECT title FROM todo"), "milk");
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
}

TEST_F(ReplicaApiTest, ApplyInsideTheApplicationsTransactionCommitsOrRollsBackWithIt) {
  auto a = OpenWithTodo("a.db");
  auto b = OpenWithTodo("b.db");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Execute("INSERT INTO todo VALUES (1, 'milk')").ok());
  auto bundle = a->Export();
  ASSERT_TRUE(bundle.ok());
  ASSERT_TRUE(b->Execute("BEGIN").ok());
  ASSERT_TRUE(b->Apply(*bundle).ok());
  ASSERT_TRUE(b->Execute("ROLLBACK").ok());
  EXPECT_EQ(QueryText(b->db(), "SELECT count(*) FROM todo"), "0");
  auto stats = b->log().Stats();
  ASSERT_TRUE(stats.ok());
  auto contains = b->log().Contains((*a->Heads())[0]);
  ASSERT_TRUE(contains.ok());
  EXPECT_FALSE(*contains);

  ASSERT_TRUE(b->Execute("BEGIN").ok());
  ASSERT_TRUE(b->Apply(*bundle).ok());
  ASSERT_TRUE(b->Execute("COMMIT").ok());
  EXPECT_EQ(QueryText(b->db(), "SELECT title FROM todo"), "milk");
  contains = b->log().Contains((*a->Heads())[0]);
  ASSERT_TRUE(contains.ok());
  EXPECT_TRUE(*contains);
}

TEST_F(ReplicaApiTest, ExecuteErrorsCarrySqlitesMessage) {
  auto a = OpenWithTodo("a.db");
  ASSERT_TRUE(a);
  absl::Status s = a->Execute("INSERT INTO no_such_table VALUES (1)");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("no_such_table"));
  s = a->Replicate("no_such_table");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("no_such_table"));
}

}  // namespace
}  // namespace crlog::api_test
