// One cell's merge decision (merge/cell_decision.h): what the fold does with
// an incoming write to a live row's column, and when it records a conflict.
#include "merge/cell_decision.h"

#include <string>

#include <gtest/gtest.h>

namespace crlog::merge {
namespace {

const std::string kLow(16, '\x01'), kHigh(16, '\x02');

Rules MergeEqualValues(bool on) {
  Rules r;
  r.merge_equal_values = on;
  return r;
}

TEST(DecideCellTest, AColumnWithoutALocalWriteTakesTheIncomingOne) {
  Value v = Value::Integer(1);
  CellState incoming{1, &v, kHigh};
  EXPECT_FALSE(NeedsLocalValue(nullptr, incoming, Rules{}));
  CellDecision d = DecideCell(nullptr, incoming, Rules{});
  EXPECT_EQ(d.outcome, CellOutcome::kNoLocalWrite);
  EXPECT_TRUE(d.take);
  EXPECT_FALSE(d.conflict);
}

TEST(DecideCellTest, ColumnVersionDecidesWithoutTheLocalValue) {
  Value v = Value::Integer(1);
  // The local value is not read: it may stay unset.
  CellState local{2, nullptr, kLow};
  CellState newer{3, &v, kHigh}, older{1, &v, kHigh};
  EXPECT_FALSE(NeedsLocalValue(&local, newer, Rules{}));
  EXPECT_FALSE(NeedsLocalValue(&local, older, Rules{}));
  CellDecision d = DecideCell(&local, newer, Rules{});
  EXPECT_EQ(d.outcome, CellOutcome::kIncomingNewer);
  EXPECT_TRUE(d.take);
  EXPECT_FALSE(d.conflict);
  d = DecideCell(&local, older, Rules{});
  EXPECT_EQ(d.outcome, CellOutcome::kIncomingOlder);
  EXPECT_FALSE(d.take);
  EXPECT_FALSE(d.conflict);
}

TEST(DecideCellTest, SameVersionFromTwoSitesWithDifferentValuesIsAConflictWhoeverWins) {
  Value small = Value::Integer(1), big = Value::Integer(2);
  CellState local_small{4, &small, kLow}, local_big{4, &big, kLow};
  CellState incoming_small{4, &small, kHigh}, incoming_big{4, &big, kHigh};
  EXPECT_TRUE(NeedsLocalValue(&local_small, incoming_big, Rules{}));
  CellDecision d = DecideCell(&local_small, incoming_big, Rules{});
  EXPECT_EQ(d.outcome, CellOutcome::kIncomingValueGreater);
  EXPECT_TRUE(d.take);
  EXPECT_TRUE(d.conflict);
  d = DecideCell(&local_big, incoming_small, Rules{});
  EXPECT_EQ(d.outcome, CellOutcome::kLocalValueGreater);
  EXPECT_FALSE(d.take);
  EXPECT_TRUE(d.conflict);
}

TEST(DecideCellTest, DifferentValuesFromOneSiteAreNoConflict) {
  Value small = Value::Integer(1), big = Value::Integer(2);
  CellState local{4, &small, kLow}, incoming{4, &big, kLow};
  CellDecision d = DecideCell(&local, incoming, Rules{});
  EXPECT_TRUE(d.take);
  EXPECT_FALSE(d.conflict);
}

TEST(DecideCellTest, EqualValuesStayUnlessMergeEqualValuesPicksTheGreaterSite) {
  Value v = Value::Text("x");
  CellState low{1, &v, kLow}, high{1, &v, kHigh};
  CellDecision d = DecideCell(&low, high, MergeEqualValues(false));
  EXPECT_EQ(d.outcome, CellOutcome::kEqual);
  EXPECT_FALSE(d.take);
  EXPECT_FALSE(d.conflict);
  d = DecideCell(&low, high, MergeEqualValues(true));
  EXPECT_EQ(d.outcome, CellOutcome::kEqualValueGreaterSite);
  EXPECT_TRUE(d.take);
  EXPECT_FALSE(d.conflict);
  d = DecideCell(&high, low, MergeEqualValues(true));
  EXPECT_EQ(d.outcome, CellOutcome::kEqual);
  EXPECT_FALSE(d.take);
}

TEST(DecideCellTest, AnUnsetValueComparesAsNull) {
  Value null = Value::Null(), blob = Value::Blob("");
  CellState local{1, nullptr, kLow}, incoming{1, &blob, kHigh};
  EXPECT_TRUE(DecideCell(&local, incoming, Rules{}).take);  // any BLOB > NULL
  CellState local_null{1, &null, kLow}, incoming_unset{1, nullptr, kHigh};
  EXPECT_EQ(DecideCell(&local_null, incoming_unset, Rules{}).outcome, CellOutcome::kEqual);
}

}  // namespace
}  // namespace crlog::merge
