// Blame and cell history (engine/history/blame.h) on real multi-site histories:
// what blame reports is what a replay at head holds, the event it names is
// the last one the row's history gives for that cell, and the history lists
// every earlier value in the order this replica took them in, whichever way
// they arrived (crlog_apply, or an import through crsql_changes).
#include "engine/history/blame.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/history/history_db.h"
#include "util/sqlite/stmt.h"
#include "log/hash.h"
#include "schema/packed_pk.h"
#include "tests/engine/history_test_util.h"

namespace crlog::engine {
namespace {

using history_test::Db;
using merge_sql_test::MakeCrr;
using merge_sql_test::OpenReplica;

std::string Pk(int64_t id) { return schema::PackColumns({Value::Integer(id)}); }

// The packed pks crlog_clock holds for table t: every row the replica saw.
std::vector<std::string> SeenPks(sqlite3* db) {
  std::vector<std::string> out;
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT pk FROM crlog_clock WHERE tbl = (SELECT id FROM crlog_tables WHERE name = 't')");
  EXPECT_TRUE(stmt.ok()) << stmt.status();
  while (stmt.ok() && *stmt->Step()) out.emplace_back(stmt->ColumnBlob(0));
  return out;
}

// The last entry of `history` for `column` ("" for the row's existence).
const CellVersion* Last(const std::vector<CellVersion>& history, const std::string& column) {
  const CellVersion* last = nullptr;
  for (const CellVersion& v : history) {
    if (v.column == column) last = &v;
  }
  return last;
}

class BlameTest : public merge_sql_test::MergeSqlTest {};

TEST_F(BlameTest, BlameAgreesWithReplayAndWithTheRowsHistory) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    std::vector<std::string> paths;
    {
      std::vector<std::unique_ptr<Db>> dbs;
      std::vector<Db*> replicas;
      for (const char* name : {"a", "b", "c"}) {
        paths.push_back(File(absl::StrCat(name, seed, ".db")));
        dbs.push_back(OpenReplica(paths.back()));
        ASSERT_TRUE(dbs.back()->loaded()) << dbs.back()->load_error();
        MakeCrr(*dbs.back(), history_test::kTable, "t");
        replicas.push_back(dbs.back().get());
      }
      std::mt19937 rng(seed);
      history_test::RandomHistory(replicas, &rng, 80);
      ASSERT_FALSE(HasFailure());
    }  // closes the extension's connections (and its logs)

    // What the history exercised, so the test cannot pass by checking little.
    int deleted = 0, resurrected = 0, imported = 0, from_elsewhere = 0;
    for (const std::string& path : paths) {
      SCOPED_TRACE(path);
      auto h = history_test::OpenHistory(path);
      ASSERT_NE(h, nullptr);
      auto head = h->Resolve("head");
      ASSERT_TRUE(head.ok()) << head.status();
      history_test::MemoryDb replay;
      history_test::Replay(*h, *head, &replay);
      const auto replayed = history_test::Rows(replay.db, "t");
      const auto live = history_test::Rows(h->db(), "t");
      EXPECT_EQ(live.size(), replayed.size()) << "the replay at head holds the table as it is";

      for (const std::string& pk : SeenPks(h->db())) {
        SCOPED_TRACE(testing::Message() << "row " << log::ToHex(pk));
        auto blame = BlameRow(h->db(), h->store(), "t", pk);
        ASSERT_TRUE(blame.ok()) << blame.status();
        auto in_replay = replayed.find(pk);
        ASSERT_EQ(blame->exists, in_replay != replayed.end());
        auto history = RowHistory(h->store(), *head, "t", pk, h->Options());
        ASSERT_TRUE(history.ok()) << history.status();

        const CellVersion* existence = Last(*history, "");
        ASSERT_NE(existence, nullptr) << "every row seen came into being by some event";
        EXPECT_EQ(existence->value, Value::Integer(blame->exists ? 1 : 0));
        if (blame->existence) {
          EXPECT_EQ(log::ToHex(blame->existence->event), log::ToHex(existence->written_by.event))
              << "blame's existence event is the last one the history gives";
        }
        deleted += !blame->exists;
        resurrected += blame->exists && blame->causal_length > 1;
        if (!blame->exists) {
          EXPECT_TRUE(blame->cells.empty());
          ASSERT_TRUE(blame->existence.has_value()) << "a deleted row names its delete";
          continue;
        }
        ASSERT_EQ(blame->cells.size(), in_replay->second.size());
        for (size_t i = 0; i < blame->cells.size(); ++i) {
          const CellBlame& cell = blame->cells[i];
          SCOPED_TRACE(cell.column);
          EXPECT_EQ(cell.value, in_replay->second[i]) << "blame's value is the replay's value";
          ASSERT_TRUE(cell.written_by.has_value()) << "every cell here was written by an event";
          const CellVersion* last = Last(*history, cell.column);
          ASSERT_NE(last, nullptr);
          EXPECT_EQ(log::ToHex(cell.written_by->event), log::ToHex(last->written_by.event))
              << "blame names the event of the history's last entry";
          EXPECT_EQ(last->value, cell.value);
          EXPECT_EQ(cell.written_by->site, last->written_by.site);
          EXPECT_EQ(cell.written_by->col_version, last->written_by.col_version);
          imported += cell.written_by->kind == log::EventKind::kImport;
          from_elsewhere += cell.written_by->site != h->site();
        }
      }
    }
    EXPECT_GT(deleted, 0);
    EXPECT_GT(resurrected, 0);
    EXPECT_GT(imported, 0);
    EXPECT_GT(from_elsewhere, 0);
  }
}

TEST_F(BlameTest, HistoryListsEveryValueInArrivalOrderWhicheverWayItCame) {
  const std::string a_path = File("a.db"), b_path = File("b.db"), c_path = File("c.db");
  std::string site_a, site_b;
  {
    OPEN_REPLICA_AT(a, a_path);
    OPEN_REPLICA_AT(b, b_path);
    OPEN_REPLICA_AT(c, c_path);
    for (Db* db : {a.get(), b.get(), c.get()}) MakeCrr(*db, history_test::kTable, "t");
    site_a = merge_sql_test::SiteOf(*a);
    site_b = merge_sql_test::SiteOf(*b);
    a->Exec("INSERT INTO t VALUES (1, 'one', 1)");
    history_test::ApplyAll(*a, *b);            // B takes A's event as is
    b->Exec("UPDATE t SET a = 'uno' WHERE id = 1");
    history_test::SendChanges(*b, *a);         // A imports B's write through crsql_changes
    a->Exec("UPDATE t SET a = 'eins', b = 2 WHERE id = 1");
    history_test::ApplyAll(*a, *c);            // C gets all of it, the import included
  }

  for (const std::string& path : {a_path, c_path}) {
    SCOPED_TRACE(path);
    auto h = history_test::OpenHistory(path);
    ASSERT_NE(h, nullptr);
    auto head = h->Resolve("head");
    ASSERT_TRUE(head.ok()) << head.status();
    auto history = RowHistory(h->store(), *head, "t", Pk(1), h->Options());
    ASSERT_TRUE(history.ok()) << history.status();
    std::vector<std::string> a_values, a_sites, b_values;
    std::vector<log::EventKind> a_kinds;
    for (const CellVersion& v : *history) {
      if (v.column == "a") {
        a_values.push_back(ValueToString(v.value));
        a_sites.emplace_back(log::AsBytes(v.written_by.site));
        a_kinds.push_back(v.written_by.kind);
      } else if (v.column == "b") {
        b_values.push_back(ValueToString(v.value));
      }
    }
    EXPECT_EQ(a_values, (std::vector<std::string>{"'one'", "'uno'", "'eins'"}));
    EXPECT_EQ(a_sites, (std::vector<std::string>{site_a, site_b, site_a}))
        << "the import's value is B's: the cell's origin, not the importer";
    EXPECT_EQ(a_kinds, (std::vector<log::EventKind>{log::EventKind::kChange, log::EventKind::kImport,
                                                    log::EventKind::kChange}));
    EXPECT_EQ(b_values, (std::vector<std::string>{"1", "2"}));
    ASSERT_FALSE(history->empty());
    EXPECT_EQ(history->front().column, "") << "the row's existence comes first in its event";
    for (const CellVersion& v : *history) {
      if (v.written_by.kind == log::EventKind::kImport) {
        EXPECT_EQ(v.written_by.time_micros, 0) << "imports carry no writer's time";
        EXPECT_TRUE(v.written_by.arrival_micros.has_value()) << "but this log knows when it stored them";
      } else {
        EXPECT_GT(v.written_by.time_micros, 0);
      }
    }

    auto blame = BlameRow(h->db(), h->store(), "t", Pk(1));
    ASSERT_TRUE(blame.ok()) << blame.status();
    ASSERT_EQ(blame->cells.size(), 2u);
    EXPECT_EQ(blame->cells[0].column, "a");
    EXPECT_EQ(blame->cells[0].value, Value::Text("eins"));
    ASSERT_TRUE(blame->cells[0].written_by.has_value());
    EXPECT_EQ(std::string(log::AsBytes(blame->cells[0].written_by->site)), site_a);
  }

  // On A, blame of the imported value while it was current names the
  // import and B as the writer.
  {
    OPEN_REPLICA_AT(b, b_path);
    b->Exec("UPDATE t SET b = 3 WHERE id = 1");
    OPEN_REPLICA_AT(a, a_path);
    history_test::SendChanges(*b, *a);
  }
  auto h = history_test::OpenHistory(a_path);
  ASSERT_NE(h, nullptr);
  auto blame = BlameRow(h->db(), h->store(), "t", Pk(1));
  ASSERT_TRUE(blame.ok()) << blame.status();
  ASSERT_EQ(blame->cells.size(), 2u);
  EXPECT_EQ(blame->cells[1].value, Value::Integer(3));
  ASSERT_TRUE(blame->cells[1].written_by.has_value());
  EXPECT_EQ(blame->cells[1].written_by->kind, log::EventKind::kImport);
  EXPECT_EQ(std::string(log::AsBytes(blame->cells[1].written_by->site)), site_b);
}

TEST_F(BlameTest, ADeletedRowNamesItsDeleteAndAResurrectedOneItsReturn) {
  const std::string path = File("a.db");
  {
    OPEN_REPLICA_AT(a, path);
    MakeCrr(*a, history_test::kTable, "t");
    a->Exec("INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)");
    a->Exec("DELETE FROM t WHERE id = 1");
    a->Exec("DELETE FROM t WHERE id = 2");
    a->Exec("INSERT INTO t VALUES (2, 'back', 3)");
  }
  auto h = history_test::OpenHistory(path);
  ASSERT_NE(h, nullptr);
  auto gone = BlameRow(h->db(), h->store(), "t", Pk(1));
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->exists);
  EXPECT_EQ(gone->causal_length, 2u);
  EXPECT_TRUE(gone->cells.empty());
  ASSERT_TRUE(gone->existence.has_value());
  auto back = BlameRow(h->db(), h->store(), "t", Pk(2));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->exists);
  EXPECT_EQ(back->causal_length, 3u);
  ASSERT_TRUE(back->existence.has_value());
  EXPECT_GT(back->existence->position, gone->existence->position) << "the resurrection came after the delete";
  ASSERT_EQ(back->cells.size(), 2u);
  EXPECT_EQ(back->cells[0].value, Value::Text("back"));
  ASSERT_TRUE(back->cells[0].written_by.has_value());
  EXPECT_EQ(back->cells[0].written_by->event, back->existence->event);
}

TEST_F(BlameTest, BadQuestionsGetClearAnswers) {
  const std::string path = File("a.db");
  {
    OPEN_REPLICA_AT(a, path);
    MakeCrr(*a, history_test::kTable, "t");
    a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  }
  auto h = history_test::OpenHistory(path);
  ASSERT_NE(h, nullptr);
  auto unknown = BlameRow(h->db(), h->store(), "nope", Pk(1));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("table 'nope' is not replicated"), std::string::npos) << unknown.status();
  EXPECT_NE(unknown.status().message().find("replicated tables: t"), std::string::npos) << unknown.status();

  auto arity = BlameRow(h->db(), h->store(), "t", schema::PackColumns({Value::Integer(1), Value::Integer(2)}));
  EXPECT_EQ(arity.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(arity.status().message().find("primary key of 1 column (id) but 2 values"), std::string::npos)
      << arity.status();

  auto never = BlameRow(h->db(), h->store(), "t", Pk(7));
  EXPECT_EQ(never.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(never.status().message().find("no row (7)"), std::string::npos) << never.status();

  auto cased = BlameRow(h->db(), h->store(), "T", Pk(1));
  ASSERT_TRUE(cased.ok()) << "table names match as SQLite matches them: " << cased.status();
  EXPECT_EQ(cased->table, "t");
}

}  // namespace
}  // namespace crlog::engine
