// cr-sqlite's merge order (crsql-compat.md, "Merge rule for INSERT INTO
// crsql_changes"), decided by merge/lww.h.
#include "merge/lww.h"

#include <gtest/gtest.h>

#include "merge/cell_decision.h"

namespace crlog::merge {
namespace {

// Rules 4 and 5 of the merge rule in crsql-compat.md, as the fold applies
// them: does the incoming write replace the local one.
bool IncomingWins(const CellState& local, const CellState& incoming, bool merge_equal_values) {
  Rules rules;
  rules.merge_equal_values = merge_equal_values;
  return DecideCell(&local, incoming, rules).take;
}

TEST(CompareValuesTest, TypesOrderIntegerRealTextBlobNull) {
  // Any INTEGER > any REAL > any TEXT > any BLOB > NULL: the integer 1 beats
  // the real 1.5.
  EXPECT_GT(CompareValues(Value::Integer(1), Value::Real(1.5)), 0);
  EXPECT_GT(CompareValues(Value::Real(-100), Value::Text("zzz")), 0);
  EXPECT_GT(CompareValues(Value::Text(""), Value::Blob("\xff")), 0);
  EXPECT_GT(CompareValues(Value::Blob(""), Value::Null()), 0);
  EXPECT_LT(CompareValues(Value::Null(), Value::Integer(INT64_MIN)), 0);
}

TEST(CompareValuesTest, WithinATypeNumbersNumericallyTextAndBlobsBytewise) {
  EXPECT_LT(CompareValues(Value::Integer(-5), Value::Integer(3)), 0);
  EXPECT_GT(CompareValues(Value::Real(2.5), Value::Real(2.25)), 0);
  EXPECT_LT(CompareValues(Value::Text("ab"), Value::Text("b")), 0);
  EXPECT_LT(CompareValues(Value::Text("a"), Value::Text("ab")), 0);
  EXPECT_GT(CompareValues(Value::Blob("\x80"), Value::Blob("\x7f")), 0);  // unsigned bytes
  EXPECT_EQ(CompareValues(Value::Text("same"), Value::Text("same")), 0);
  EXPECT_EQ(CompareValues(Value::Null(), Value::Null()), 0);
}

TEST(DecideRowTest, CausalLengthDecidesBeforeCells) {
  EXPECT_EQ(DecideRow(3, 1), RowAction::kIgnore);      // incoming smaller: stale
  EXPECT_EQ(DecideRow(1, 2), RowAction::kDelete);      // larger and even
  EXPECT_EQ(DecideRow(2, 2), RowAction::kNothing);     // equal and even
  EXPECT_EQ(DecideRow(2, 3), RowAction::kResurrect);   // larger and odd
  EXPECT_EQ(DecideRow(0, 1), RowAction::kResurrect);   // a row never seen
  EXPECT_EQ(DecideRow(3, 3), RowAction::kMergeCells);  // equal and odd
}

TEST(IncomingWinsTest, HigherColumnVersionWinsWhateverTheValue) {
  Value small = Value::Integer(1), big = Value::Integer(100);
  EXPECT_TRUE(IncomingWins({1, &big, "a"}, {2, &small, "b"}, false));
  EXPECT_FALSE(IncomingWins({3, &small, "a"}, {2, &big, "b"}, false));
}

TEST(IncomingWinsTest, EqualVersionsGreaterValueWins) {
  Value one = Value::Integer(1), real = Value::Real(1.5);
  EXPECT_TRUE(IncomingWins({1, &real, "a"}, {1, &one, "b"}, false));
  EXPECT_FALSE(IncomingWins({1, &one, "a"}, {1, &real, "b"}, false));
}

TEST(IncomingWinsTest, EqualValuesChangeNothingUnlessMergeEqualValuesThenGreaterSiteWins) {
  Value v = Value::Text("x");
  std::string low(16, '\x01'), high(16, '\x02');
  EXPECT_FALSE(IncomingWins({1, &v, low}, {1, &v, high}, false));
  EXPECT_TRUE(IncomingWins({1, &v, low}, {1, &v, high}, true));
  EXPECT_FALSE(IncomingWins({1, &v, high}, {1, &v, low}, true));
}

}  // namespace
}  // namespace crlog::merge
