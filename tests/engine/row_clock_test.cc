#include "engine/fold/row_clock.h"

#include <gtest/gtest.h>

namespace crlog::engine {
namespace {

TEST(RowClockTest, EncodingRoundTrips) {
  RowClock r;
  r.cl = 3;
  r.has_sentinel = true;
  r.sentinel = CellClock{0, 3, 17, 2, 4};
  r.Upsert(2) = CellClock{2, 5, 9, 0, 1};
  r.Upsert(0) = CellClock{0, 1, 1 << 20, 7, 300};
  auto decoded = RowClock::Decode(r.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, r);
  ASSERT_NE(decoded->Find(2), nullptr);
  EXPECT_EQ(decoded->Find(2)->col_version, 5u);
  EXPECT_EQ(decoded->Find(1), nullptr);
  EXPECT_EQ(decoded->cells.front().column, 0u);  // kept sorted by column
}

TEST(RowClockTest, CorruptBytesAreDataLoss) {
  RowClock r;
  r.cl = 1;
  r.Upsert(0) = CellClock{0, 1, 1, 0, 0};
  std::string bytes = r.Encode();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = RowClock::Decode(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(decoded.ok()) << "prefix of " << n << " bytes";
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

}  // namespace
}  // namespace crlog::engine
