// Ids and their rendering (log/hash.h), and how values are shown
// (log/value.h).
#include "log/hash.h"

#include <string>

#include "gtest/gtest.h"
#include "crlog/value.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

TEST(HashTest, Sha256MatchesTheStandardTestVectors) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(HashTest, ToHexIsLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(ToHex(std::string("\x00\x0f\xa0\xff", 4)), "000fa0ff");
  EXPECT_EQ(ToHex(""), "");
}

TEST(HashTest, ShortHexIsTheFirstTwelveDigits) {
  Hash h = Sha256("abc");
  EXPECT_EQ(ShortHex(h), "ba7816bf8f01");
}

TEST(HashTest, HashFromHexRoundTripsAndRefusesBadInput) {
  Hash h = Sha256("abc");
  auto back = HashFromHex(ToHex(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
  EXPECT_FALSE(HashFromHex(ToHex(h).substr(0, 63)).ok());
  EXPECT_FALSE(HashFromHex(ToHex(h) + "0").ok());
  EXPECT_FALSE(HashFromHex("").ok());
  std::string bad = ToHex(h);
  bad[10] = 'g';
  EXPECT_FALSE(HashFromHex(bad).ok());
}

TEST(HashTest, SiteIdFromHexRoundTripsAndRefusesBadInput) {
  SiteId s = testing::Site(0x5a);
  auto back = SiteIdFromHex(ToHex(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(SiteIdFromHex(ToHex(s).substr(0, 31)).ok());
  EXPECT_FALSE(SiteIdFromHex(ToHex(Sha256("abc"))).ok());  // 64 digits is a hash
  EXPECT_FALSE(SiteIdFromHex(std::string(32, 'z')).ok());
}

TEST(ValueTest, ValueToStringRendersLikeSql) {
  EXPECT_EQ(ValueToString(Value::Integer(42)), "42");
  EXPECT_EQ(ValueToString(Value::Integer(-7)), "-7");
  EXPECT_EQ(ValueToString(Value::Real(1.5)), "1.5");
  EXPECT_EQ(ValueToString(Value::Text("it's")), "'it''s'");
  EXPECT_EQ(ValueToString(Value::Text("")), "''");
  EXPECT_EQ(ValueToString(Value::Blob(std::string("\x00\xff", 2))), "X'00ff'");
  EXPECT_EQ(ValueToString(Value::Null()), "NULL");
}

TEST(ValueTest, EqualityComparesTypeAndContent) {
  EXPECT_EQ(Value::Integer(1), Value::Integer(1));
  EXPECT_NE(Value::Integer(1), Value::Real(1.0));
  EXPECT_NE(Value::Text("a"), Value::Blob("a"));
  EXPECT_EQ(Value::Null(), Value::Null());
}

}  // namespace
}  // namespace crlog::log
