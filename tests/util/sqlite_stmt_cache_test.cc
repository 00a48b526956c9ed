// The per-connection statement cache (util/sqlite/stmt_cache.h): inside a
// scope a statement is prepared once and reused, a Clear lets go of every
// statement (even one in use) so that the legacy sqlite3_close succeeds, and
// outside a scope nothing is kept.
#include "util/sqlite/stmt_cache.h"

#include <sqlite3.h>

#include <string>

#include "gtest/gtest.h"
#include "util/sqlite/stmt.h"

namespace crlog::sqlite {
namespace {

class StmtCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(Exec(db_, "CREATE TABLE t(a INTEGER)").ok());
  }
  void TearDown() override {
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }
  // How many statements the connection holds prepared.
  int Open() {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db_, nullptr); s != nullptr; s = sqlite3_next_stmt(db_, s)) ++n;
    return n;
  }
  sqlite3* db_ = nullptr;
};

TEST_F(StmtCacheTest, InsideAScopeAStatementIsPreparedOnceAndComesBackReset) {
  StmtCache cache(db_);
  sqlite3_stmt* first = nullptr;
  {
    StmtCache::Scope scope(cache);
    auto insert = Stmt::Prepare(db_, "INSERT INTO t VALUES (?1)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    first = insert->get();
    insert->BindInt(1, 7);
    ASSERT_TRUE(insert->Run().ok());
  }
  EXPECT_EQ(cache.idle(), 1u);
  {
    StmtCache::Scope scope(cache);
    auto again = Stmt::Prepare(db_, "INSERT INTO t VALUES (?1)");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->get(), first) << "the cached statement is reused";
    EXPECT_EQ(cache.idle(), 0u) << "a statement in use is not idle";
    // Bindings were cleared when it came back: an unbound parameter is NULL.
    ASSERT_TRUE(again->Run().ok());
  }
  auto nulls = Stmt::Prepare(db_, "SELECT count(*) FROM t WHERE a IS NULL");
  ASSERT_TRUE(nulls.ok());
  ASSERT_TRUE(nulls->Step().value_or(false));
  EXPECT_EQ(nulls->ColumnInt(0), 1);
}

TEST_F(StmtCacheTest, TwoUsesOfOneTextAtOnceGetTwoStatements) {
  StmtCache cache(db_);
  StmtCache::Scope scope(cache);
  auto a = Stmt::Prepare(db_, "SELECT 1");
  auto b = Stmt::Prepare(db_, "SELECT 1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
}

TEST_F(StmtCacheTest, OutsideAScopeNothingIsKept) {
  StmtCache cache(db_);
  { auto s = Stmt::Prepare(db_, "SELECT 1"); }
  EXPECT_EQ(cache.idle(), 0u);
  EXPECT_EQ(Open(), 0);
}

TEST_F(StmtCacheTest, AStatementOfSeveralIsNotCached) {
  StmtCache cache(db_);
  {
    StmtCache::Scope scope(cache);
    auto s = Stmt::Prepare(db_, "SELECT 1; SELECT 2");
    ASSERT_TRUE(s.ok());
  }
  EXPECT_EQ(cache.idle(), 0u) << "its text is not the whole SQL, so it could never be found again";
  EXPECT_EQ(Open(), 0);
}

TEST_F(StmtCacheTest, AClearWhileAStatementIsInUseFinalizesItWhenItComesBack) {
  StmtCache cache(db_);
  {
    StmtCache::Scope scope(cache);
    auto idle = Stmt::Prepare(db_, "SELECT 2");
    ASSERT_TRUE(idle.ok());
  }
  {
    StmtCache::Scope scope(cache);
    auto in_use = Stmt::Prepare(db_, "SELECT 1");
    ASSERT_TRUE(in_use.ok());
    cache.Clear();
    EXPECT_EQ(cache.idle(), 0u);
    EXPECT_EQ(Open(), 1) << "only the statement in use is left";
    auto after = Stmt::Prepare(db_, "SELECT 3");
    ASSERT_TRUE(after.ok());
  }
  EXPECT_EQ(cache.idle(), 0u) << "a cleared scope keeps nothing";
  EXPECT_EQ(Open(), 0);
  EXPECT_EQ(sqlite3_close(db_), SQLITE_OK) << "the legacy close finds no statement left";
  db_ = nullptr;
}

TEST_F(StmtCacheTest, AtCapacityFurtherStatementsAreFinalized) {
  StmtCache cache(db_, 2);
  {
    StmtCache::Scope scope(cache);
    for (int i = 0; i < 5; ++i) {
      auto s = Stmt::Prepare(db_, "SELECT " + std::to_string(i));
      ASSERT_TRUE(s.ok());
    }
  }
  EXPECT_EQ(cache.idle(), 2u);
  EXPECT_EQ(Open(), 2);
}

TEST_F(StmtCacheTest, ScopesNestAndTheInnermostIsInForce) {
  StmtCache outer_cache(db_);
  StmtCache inner_cache(db_);
  StmtCache::Scope outer(outer_cache);
  {
    StmtCache::Scope inner(inner_cache);
    auto s = Stmt::Prepare(db_, "SELECT 1");
    ASSERT_TRUE(s.ok());
  }
  EXPECT_EQ(inner_cache.idle(), 1u);
  EXPECT_EQ(outer_cache.idle(), 0u);
  { auto s = Stmt::Prepare(db_, "SELECT 2"); }
  EXPECT_EQ(outer_cache.idle(), 1u);
}

TEST_F(StmtCacheTest, AScopeForAnotherConnectionDoesNotCache) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &other), SQLITE_OK);
  {
    StmtCache cache(other);
    StmtCache::Scope scope(cache);
    { auto s = Stmt::Prepare(db_, "SELECT 1"); }
    EXPECT_EQ(cache.idle(), 0u);
  }
  EXPECT_EQ(Open(), 0);
  sqlite3_close(other);
}

}  // namespace
}  // namespace crlog::sqlite
