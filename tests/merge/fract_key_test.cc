// cr-sqlite 0.16's order keys (merge/fract_key.h). The expected keys were
// read from the real cr-sqlite 0.16 (its wasm build, tests/peer), which
// tests/peer/test_fract_index.py also compares against, pair by pair and
// with random keys.
#include "merge/fract_key.h"

#include <gtest/gtest.h>

#include "tests/support/seeds.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace crlog::merge {
namespace {

using Key = std::optional<std::string_view>;
constexpr std::nullopt_t kOpen = std::nullopt;

std::string Between(Key a, Key b) {
  auto k = FractKeyBetween(a, b);
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? *k : std::string();
}

std::string Smallest() { return "A" + std::string(26, ' '); }

TEST(FractKeyTest, EmptyListStartsAtZero) {
  EXPECT_EQ(Between(kOpen, kOpen), "a ");
  EXPECT_EQ(kFractKeyZero, "a ");
}

TEST(FractKeyTest, AppendingIncrementsTheIntegerPart) {
  EXPECT_EQ(Between("a ", kOpen), "a!");
  EXPECT_EQ(Between("a!", kOpen), "a\"");
  EXPECT_EQ(Between("a~", kOpen), "b  ");    // carry: the head grows, and the integer with it
  EXPECT_EQ(Between("b~~", kOpen), "c   ");
  EXPECT_EQ(Between("Z~", kOpen), "a ");     // from the negative integers to zero
  EXPECT_EQ(Between("Y~~", kOpen), "Z ");    // uppercase heads shrink as they grow
  EXPECT_EQ(Between("abc", kOpen), "ac");    // a fraction is dropped
  EXPECT_EQ(Between("zzzzzzzzzzzzzzzzzzzzzzzzzzy", kOpen), "zzzzzzzzzzzzzzzzzzzzzzzzzzz");
}

TEST(FractKeyTest, PastTheLargestIntegerTheFractionGrows) {
  const std::string largest = "z" + std::string(26, '~');
  EXPECT_EQ(Between(largest, kOpen), largest + "P");
}

TEST(FractKeyTest, PrependingDecrementsTheIntegerPart) {
  EXPECT_EQ(Between(kOpen, "a "), "Z~");
  EXPECT_EQ(Between(kOpen, "Z~"), "Z}");
  EXPECT_EQ(Between(kOpen, "Y  "), "X~~~");
  EXPECT_EQ(Between(kOpen, "b  "), "a~");
  EXPECT_EQ(Between(kOpen, "a0V"), "a0");    // the integer part of a key with a fraction
  EXPECT_EQ(Between(kOpen, "b999"), "b99");
  EXPECT_EQ(Between(kOpen, Smallest() + "!"), Smallest() + " P");
}

TEST(FractKeyTest, BetweenTwoKeysTakesTheMidpointRoundedUp) {
  EXPECT_EQ(Between("a0", "a1"), "a0P");
  EXPECT_EQ(Between("a1", "a2"), "a1P");
  EXPECT_EQ(Between("a0V", "a1"), "a0k");
  EXPECT_EQ(Between("Z~", "a "), "Z~P");
  EXPECT_EQ(Between("Z~", "a!"), "a ");      // the next integer fits
  EXPECT_EQ(Between("Z~", "a 1"), "a ");
  EXPECT_EQ(Between("a0", "a0V"), "a0;");
  EXPECT_EQ(Between("a0", "a0G"), "a04");
  EXPECT_EQ(Between("b125", "b129"), "b127");
  EXPECT_EQ(Between("a0", "a1V"), "a1");
  EXPECT_EQ(Between("a ", "a P"), "a 8");    // a shorter than b reads as padded with ' '
  EXPECT_EQ(Between("a P", "a Q"), "a PP");  // adjacent digits: one more digit
  EXPECT_EQ(Between("a ~", "a!"), "a ~P");
}

TEST(FractKeyTest, KeysCrSqliteWouldRefuseAreRefused) {
  const std::string smallest = Smallest();  // the Keys below view it
  const std::vector<std::pair<Key, Key>> refused = {
      {"", kOpen},           {kOpen, ""},          {"a!", ""},          // empty
      {"0", "1"},            {"1", kOpen},         {"\xC3\xA9", kOpen},  // no head letter
      {"a", kOpen},          {"b!", kOpen},                             // shorter than the integer part
      {"a0 ", kOpen},        {"a0 ", "a1"},                             // fraction ends with ' '
      {smallest, kOpen},     {kOpen, smallest},                         // the reserved smallest integer
      {"a1", "a0"},          {"a1", "a1"},         {"a!", "a!"},         // not a < b
      {"a\t", kOpen},        {"a!", "a!\t"},       {"a!", "a!\xC3\xA9"}, // digits outside ' '..'~'
      {"a\xC3\xA9", kOpen},  {"a!\xA9", kOpen},    {"b\xC3\xA9", kOpen}, // cut inside a UTF-8 character
  };
  for (const auto& [a, b] : refused) {
    auto k = FractKeyBetween(a, b);
    EXPECT_FALSE(k.ok()) << "a=" << a.value_or("NULL") << " b=" << b.value_or("NULL") << " gave '" << *k << "'";
    if (!k.ok()) {
      EXPECT_EQ(k.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(FractKeyTest, BytesCrSqliteNeverReadsAreKept) {
  EXPECT_EQ(Between("a!\t", kOpen), "a\"");          // a fraction dropped unread
  EXPECT_EQ(Between("a!\xC3\xA9", kOpen), "a\"");
  EXPECT_EQ(Between("a!A", kOpen), "a\"");
}

TEST(FractKeyTest, LongKeysAreAnsweredWhereCrSqliteMisreadsTheirLength) {
  // cr-sqlite refuses these (length 256 reads as 0); they are valid keys.
  const std::string long_key = "a!" + std::string(254, 'P');
  EXPECT_EQ(Between(long_key, kOpen), "a\"");
  EXPECT_EQ(Between(kOpen, long_key), "a!");
}

TEST(FractKeyTest, MessagesNameTheKey) {
  auto k = FractKeyBetween("a1", "a0");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("'a1'"), absl::string_view::npos) << k.status();
  k = FractKeyBetween("a0 ", std::nullopt);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("'a0 '"), absl::string_view::npos) << k.status();
}

// Inserting at random places in a list keeps it sorted: each new key lies
// strictly between its neighbours and is itself a valid bound.
TEST(FractKeyTest, RandomInsertsKeepTheListSorted) {
  // A fresh seed each run, unless CRLOG_TEST_SEED names one.
  const test_support::Seeds seeds({"CRLOG_TEST_SEED"}, std::random_device{}(), 1);
  const uint32_t seed = static_cast<uint32_t>(*seeds.begin());
  test_support::SeedTrace trace(seeds, seed);
  std::mt19937 rng(seed);
  std::vector<std::string> list;
  for (int step = 0; step < 5000; ++step) {
    const size_t at = std::uniform_int_distribution<size_t>(0, list.size())(rng);
    // Now and then, hammer one place to grow long fractions.
    const size_t place = step % 500 < 100 ? std::min<size_t>(1, list.size()) : at;
    Key a = place == 0 ? kOpen : Key(list[place - 1]);
    Key b = place == list.size() ? kOpen : Key(list[place]);
    auto k = FractKeyBetween(a, b);
    ASSERT_TRUE(k.ok()) << "seed " << seed << " step " << step << ": " << k.status();
    if (a) {
      ASSERT_LT(*a, *k) << "seed " << seed << " step " << step;
    }
    if (b) {
      ASSERT_LT(*k, *b) << "seed " << seed << " step " << step;
    }
    ASSERT_TRUE(FractKeyBetween(*k, std::nullopt).ok()) << "seed " << seed << " step " << step << ": '" << *k
                                                         << "' is no valid bound";
    list.insert(list.begin() + static_cast<std::ptrdiff_t>(place), *k);
  }
  EXPECT_TRUE(std::is_sorted(list.begin(), list.end())) << "seed " << seed;
}

}  // namespace
}  // namespace crlog::merge
