// Which SQLite crlog calls (util/sqlite/api.h): the routines a host hands
// over are used, an SQLite too old for them is refused by name, and scopes
// nest.
#include "util/sqlite/api.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crlog::sqlite {
namespace {

using ::testing::HasSubstr;

int OldVersionNumber() { return 3038005; }
const char* OldVersion() { return "3.38.5"; }

TEST(SqliteApiTest, AnSqliteOlderThanTheRoutinesCrlogCallsIsRefused) {
  sqlite3_api_routines old{};
  old.libversion_number = &OldVersionNumber;
  old.libversion = &OldVersion;
  auto slot = Register(&old);
  ASSERT_FALSE(slot.ok());
  EXPECT_THAT(slot.status().message(), HasSubstr("3.39.0"));
  EXPECT_THAT(slot.status().message(), HasSubstr("3.38.5"));
}

TEST(SqliteApiTest, TheLinkedSqliteIsTheDefaultAndScopesNest) {
  const sqlite3_api_routines* linked = Current();
  ASSERT_NE(linked, nullptr);
  EXPECT_EQ(linked->libversion_number(), SQLITE_VERSION_NUMBER) << "the routines of the SQLite this test links";
  auto again = Register(linked);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Register(linked).value(), *again) << "the same routines keep their slot";
  // A second SQLite copy, as a host that bundles its own would hand over.
  static sqlite3_api_routines other = *linked;
  auto slot = Register(&other);
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_NE(*slot, *again);
  {
    ApiScope outer(*slot);
    EXPECT_EQ(Current(), &other);
    {
      ApiScope inner(*again);
      EXPECT_EQ(Current(), linked);
    }
    EXPECT_EQ(Current(), &other);
  }
  EXPECT_EQ(Current(), linked);
}

}  // namespace
}  // namespace crlog::sqlite
