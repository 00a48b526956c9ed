// Verify of a replicated database (engine::VerifyDatabase) catches what an
// auditor fears, each named precisely: a tampered event, a removed event (the
// newest of the site, which only the database's watermark can reveal, and
// one in the middle), and tables edited behind the engine's back by a
// connection without crlog (a changed cell, a deleted row, an added row, a
// value whose type changed); and replay refuses a tampered event rather than
// show its altered values. tests/log/verify_test.cc covers damage to the
// log alone; tests/engine/recovery_test.cc a cell edited with the sync bit
// set and a log replaced by an older copy.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/history/point.h"
#include "engine/history/verify_database.h"
#include "gtest/gtest.h"
#include "log/format.h"
#include "log/hash.h"
#include "tests/capture/capture_test_util.h"
#include "tests/history/history_test_util.h"
#include "tests/log/raw_lmdb.h"

namespace crlog::history_test {
namespace {

using capture_test::Db;
using capture_test::TempDir;
using log::testing::FromU64BE;
using log::testing::RawLmdb;
using log::testing::U64BE;

struct LoggedEvent {
  uint64_t position = 0;
  log::Hash hash{};
  std::string bytes;
};

class VerifyCatchesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = std::make_unique<Db>(path_);
    ASSERT_TRUE(db->loaded()) << db->load_error();
    db->Exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT, n);"
        "CREATE TABLE tags(x NOT NULL, y NOT NULL, n, PRIMARY KEY (x, y));"
        "SELECT crsql_as_crr('t'); SELECT crsql_as_crr('tags');");
    db->Exec("INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2)");
    db->Exec("INSERT INTO tags VALUES (1, 'a', 'first'), (2, 'b', 'second')");
    db->Exec("UPDATE t SET v = 'needle-value' WHERE id = 2");
    db->Exec("INSERT INTO t VALUES (3, 'three', 3)");
    db->Exec("UPDATE tags SET n = 'last' WHERE x = 1 AND y = 'a'");
    db.reset();  // the extension lets go of the log
    ASSERT_TRUE(engine::VerifyDatabase(path_).ok()) << engine::VerifyDatabase(path_).status();
  }

  // The published events, in position order (read raw: no store is open).
  std::vector<LoggedEvent> Events() {
    RawLmdb raw(log_);
    std::vector<LoggedEvent> out;
    for (const auto& [k, v] : raw.All(log::format::kEventsDb)) {
      LoggedEvent e;
      e.position = FromU64BE(k);
      e.hash = log::ToArray<32>(v.substr(0, log::format::kHashSize));
      e.bytes = v.substr(log::format::kEventValueHeader);
      out.push_back(std::move(e));
    }
    return out;
  }

  // Removes `e` and every index entry naming it, leaving the log consistent
  // in itself: its parents become heads again if it was one.
  void Remove(const LoggedEvent& e) {
    auto decoded = log::DecodeEvent(e.bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    RawLmdb raw(log_);
    ASSERT_TRUE(raw.ok());
    const std::string hash(log::AsBytes(e.hash));
    ASSERT_TRUE(raw.Del(log::format::kEventsDb, U64BE(e.position)));
    ASSERT_TRUE(raw.Del(log::format::kByHashDb, hash));
    ASSERT_TRUE(raw.Del(log::format::kBySiteDb, std::string(log::AsBytes(decoded->site)) + U64BE(decoded->seq)));
    raw.Del(log::format::kArrivalsDb, U64BE(e.position));
    if (raw.Del(log::format::kHeadsDb, hash)) {
      for (const log::Hash& p : decoded->parents) raw.Put(log::format::kHeadsDb, std::string(log::AsBytes(p)), "");
    }
  }

  // A connection without crlog, as another tool would write. crlog's
  // triggers name its capture tables, which only the extension can open, so
  // the tool drops them first (loading crlog again would restore them).
  void EditBehindTheEnginesBack(const std::string& sql) {
    Db plain(path_, /*load_extension=*/false);
    for (const auto& row : plain.Values("SELECT name FROM sqlite_schema WHERE type = 'trigger'")) {
      plain.Exec(absl::StrCat("DROP TRIGGER \"", row[0].bytes, "\""));
    }
    plain.Exec(sql);
  }

  std::string ExpectDataLoss() {
    auto report = engine::VerifyDatabase(path_);
    EXPECT_FALSE(report.ok()) << "verify passed";
    if (report.ok()) return "";
    EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss) << report.status();
    return std::string(report.status().message());
  }

  // Changes one character of the value 'needle-value' in the event that
  // wrote it: still a well-formed event, not the one its id names.
  void TamperWithTheNeedleEvent(LoggedEvent* target) {
    for (const LoggedEvent& e : Events()) {
      if (e.bytes.find("needle-value") != std::string::npos) *target = e;
    }
    ASSERT_NE(target->position, 0u);
    RawLmdb raw(log_);
    auto v = raw.Get(log::format::kEventsDb, U64BE(target->position));
    ASSERT_TRUE(v.has_value());
    (*v)[v->find("needle-value") + 11] = 'f';
    raw.Put(log::format::kEventsDb, U64BE(target->position), *v);
  }

  TempDir dir_;
  std::string path_ = dir_.File("app.db");
  std::string log_ = path_ + "-crlog";
};

TEST_F(VerifyCatchesTest, ATamperedEventIsNamed) {
  LoggedEvent tampered;
  ASSERT_NO_FATAL_FAILURE(TamperWithTheNeedleEvent(&tampered));
  const LoggedEvent* target = &tampered;
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find(log::ToHex(target->hash)), std::string::npos) << msg;
  EXPECT_NE(msg.find("altered"), std::string::npos) << msg;
}

TEST_F(VerifyCatchesTest, ARemovedNewestEventIsCaughtByTheDatabasesWatermark) {
  // The log alone cannot tell: without its newest event it is a shorter,
  // consistent log. The database remembers what it committed.
  std::vector<LoggedEvent> events = Events();
  ASSERT_FALSE(events.empty());
  const LoggedEvent newest = events.back();
  Remove(newest);
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find(log::ToHex(newest.hash)), std::string::npos) << msg;
  EXPECT_NE(msg.find("the log lacks it"), std::string::npos) << msg;
}

TEST_F(VerifyCatchesTest, ARemovedMiddleEventIsNamedByItsChild) {
  std::vector<LoggedEvent> events = Events();
  ASSERT_GE(events.size(), 4u);
  const LoggedEvent middle = events[events.size() / 2];
  Remove(middle);
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find(log::ToHex(middle.hash)), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST_F(VerifyCatchesTest, ACellChangedWithoutCrlogIsNamedByTableRowAndColumn) {
  EditBehindTheEnginesBack("UPDATE tags SET n = 'sneaky' WHERE x = 2 AND y = 'b'");
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find("table 'tags', row (2, 'b'): column 'n' is 'sneaky' in the database but 'second'"),
            std::string::npos)
      << msg;
}

TEST_F(VerifyCatchesTest, ARowDeletedWithoutCrlogIsNamed) {
  EditBehindTheEnginesBack("DELETE FROM t WHERE id = 3");
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find("table 't', row (3): the log has it but the database does not"), std::string::npos) << msg;
}

TEST_F(VerifyCatchesTest, ARowInsertedWithoutCrlogIsNamed) {
  EditBehindTheEnginesBack("INSERT INTO tags VALUES ('new', 'row', NULL)");
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find("table 'tags', row ('new', 'row'): the database has it but the log does not"),
            std::string::npos)
      << msg;
}

TEST_F(VerifyCatchesTest, AValueWhoseTypeChangedWithoutCrlogIsNamed) {
  // 1 and 1.0 compare equal in SQL; they are different values to a replica.
  EditBehindTheEnginesBack("UPDATE t SET n = 1.0 WHERE id = 1");
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find("table 't', row (1): column 'n'"), std::string::npos) << msg;
}

TEST_F(VerifyCatchesTest, ACaseChangeInANocaseColumnIsNamed) {
  // 'Apple' and 'apple' are equal to the column's collation; they are
  // different values to a replica.
  {
    Db db(path_);
    ASSERT_TRUE(db.loaded()) << db.load_error();
    db.Exec("CREATE TABLE fruit(id INTEGER PRIMARY KEY NOT NULL, name TEXT COLLATE NOCASE);"
            "SELECT crsql_as_crr('fruit'); INSERT INTO fruit VALUES (1, 'Apple');");
  }
  ASSERT_TRUE(engine::VerifyDatabase(path_).ok()) << engine::VerifyDatabase(path_).status();
  EditBehindTheEnginesBack("UPDATE fruit SET name = 'apple' WHERE id = 1");
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find("table 'fruit', row (1): column 'name' is 'apple' in the database but 'Apple'"),
            std::string::npos)
      << msg;
}

// Replay shows only what the ids name: a tampered event stops it.
TEST_F(VerifyCatchesTest, ReplayRefusesATamperedEvent) {
  LoggedEvent tampered;
  ASSERT_NO_FATAL_FAILURE(TamperWithTheNeedleEvent(&tampered));
  const LoggedEvent* target = &tampered;
  auto log = OpenReplicaLog(path_);
  ASSERT_TRUE(log.ok()) << log.status();
  auto head = engine::ResolvePoint(*log->store, log->site, log->heads, "head");
  ASSERT_TRUE(head.ok()) << head.status();
  auto replayed = ReplaySnapshot(*log->store, *head, log->site);
  ASSERT_FALSE(replayed.ok()) << "the replay shows the tampered value: " << (*replayed)["t"].rows[1];
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kDataLoss) << replayed.status();
  EXPECT_NE(replayed.status().message().find(log::ToHex(target->hash)), std::string::npos) << replayed.status();
}

// Every path that reads stored event bytes checks them against their id:
// export used to ship a tampered event (a peer's apply then took it as the
// site's own), and crlog_ops and crlog_blame showed its altered values.
TEST_F(VerifyCatchesTest, EveryReaderOfATamperedEventRefusesIt) {
  LoggedEvent tampered;
  ASSERT_NO_FATAL_FAILURE(TamperWithTheNeedleEvent(&tampered));
  const LoggedEvent* target = &tampered;
  Db db(path_);
  ASSERT_TRUE(db.loaded()) << db.load_error();
  for (const char* sql : {"SELECT length(crlog_export())", "SELECT count(*) FROM crlog_ops",
                          "SELECT count(*) FROM crlog_blame('t', crsql_pack_columns(2))",
                          "SELECT count(*) FROM crlog_cell_history('t', crsql_pack_columns(2), 'v')"}) {
    std::string err = db.Try(sql);
    EXPECT_NE(err.find("was altered"), std::string::npos) << sql << ": " << err;
    EXPECT_NE(err.find(log::ToHex(target->hash)), std::string::npos) << sql << ": " << err;
  }
}

// crsql_changes reads crlog_clock and crlog_versions: rows deleted from them
// by a connection without crlog used to empty it while verify passed.
TEST_F(VerifyCatchesTest, AClockRowDeletedWithoutCrlogIsNamed) {
  {
    Db plain(path_, /*load_extension=*/false);
    plain.Exec("DELETE FROM crlog_clock WHERE pk = X'010902'");
  }
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find("table 't', row (2)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("crlog_clock"), std::string::npos) << msg;
}

TEST_F(VerifyCatchesTest, AVersionsRowDeletedWithoutCrlogIsNamed) {
  {
    Db plain(path_, /*load_extension=*/false);
    plain.Exec("DELETE FROM crlog_versions WHERE db_version = (SELECT max(db_version) FROM crlog_versions)");
  }
  std::string msg = ExpectDataLoss();
  EXPECT_NE(msg.find("crlog_versions records no event"), std::string::npos) << msg;
}

}  // namespace
}  // namespace crlog::history_test
