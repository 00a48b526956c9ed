// Times as text (crlog/time.h): what every surface prints, and every form a
// user may type for a point or a --since/--until flag.
#include "crlog/time.h"

#include "gtest/gtest.h"

namespace crlog {
namespace {

constexpr int64_t kMay1At9 = int64_t{1714554000} * 1000000;

TEST(FormatTimeTest, WholeSecondsHaveNoFraction) {
  EXPECT_EQ(FormatTime(kMay1At9), "2024-05-01T09:00:00Z");
}

TEST(FormatTimeTest, MillisecondsShowThreeDigits) {
  EXPECT_EQ(FormatTime(kMay1At9 + 250000), "2024-05-01T09:00:00.250Z");
}

TEST(FormatTimeTest, OtherFractionsShowMicroseconds) {
  EXPECT_EQ(FormatTime(kMay1At9 + 123456), "2024-05-01T09:00:00.123456Z");
  EXPECT_EQ(FormatTime(kMay1At9 + 1), "2024-05-01T09:00:00.000001Z");
}

TEST(FormatTimeTest, TimesBeforeTheEpochCountBackwards) {
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
}

// The SQL surfaces (crlog_events, crlog_blame) print a column of times.
TEST(FormatTimeTest, MicrosDigitsAreAlwaysSix) {
  EXPECT_EQ(FormatTime(kMay1At9, TimeDigits::kMicros), "2024-05-01T09:00:00.000000Z");
  EXPECT_EQ(FormatTime(kMay1At9 + 250000, TimeDigits::kMicros), "2024-05-01T09:00:00.250000Z");
  EXPECT_EQ(FormatTime(-1, TimeDigits::kMicros), "1969-12-31T23:59:59.999999Z");
}

TEST(ParseTimeTest, ReadsEveryFormThePointsAccept) {
  EXPECT_EQ(ParseTime("@1714554000"), kMay1At9);
  EXPECT_EQ(ParseTime("2024-05-01"), kMay1At9 - int64_t{9} * 3600 * 1000000);
  EXPECT_EQ(ParseTime("2024-05-01T09:00:00Z"), kMay1At9);
  EXPECT_EQ(ParseTime("2024-05-01T11:00:00+02:00"), kMay1At9);
  EXPECT_EQ(ParseTime("2024-05-01T09:00:00.25Z"), kMay1At9 + 250000);
  EXPECT_EQ(ParseTime("2024-05-01T09:00:00"), kMay1At9);
  EXPECT_EQ(ParseTime("2024-05-01 09:00:00"), kMay1At9);
  EXPECT_EQ(ParseTime("  2024-05-01T09:00:00Z\n"), kMay1At9);
}

TEST(ParseTimeTest, ReadsBackWhatFormatTimePrints) {
  for (int64_t t : {kMay1At9, kMay1At9 + 250000, kMay1At9 + 123456, int64_t{-1}, int64_t{0}}) {
    EXPECT_EQ(ParseTime(FormatTime(t)), t) << FormatTime(t);
    EXPECT_EQ(ParseTime(FormatTime(t, TimeDigits::kMicros)), t) << FormatTime(t, TimeDigits::kMicros);
  }
}

TEST(ParseTimeTest, AnythingElseIsNotATime) {
  for (const char* text : {"", "head", "1714554000", "@", "@12x", "2024-13-01", "2024-05-01T25:00:00Z",
                           "deadbeef", "yesterday"}) {
    EXPECT_EQ(ParseTime(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace crlog
