// The pieces the crlog program is made of, tested in process: JSON
// formatting, packed pks, argument parsing and the exit-code mapping.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tools/cli.h"
#include "tools/output.h"
#include "tools/pk_text.h"

namespace crlog::tools {
namespace {

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(ToolsPackedPkTest, IntegersUseMinimalBigEndianBytes) {
  const int64_t one[] = {1};
  EXPECT_EQ(PackIntegerPk(one), std::string("\x01\x09\x01", 3));
  const int64_t zero[] = {0};
  EXPECT_EQ(PackIntegerPk(zero), std::string("\x01\x01", 2));
  const int64_t big[] = {256};
  EXPECT_EQ(PackIntegerPk(big), std::string("\x01\x11\x01\x00", 4));
  const int64_t negative[] = {-1};
  EXPECT_EQ(PackIntegerPk(negative), std::string("\x01\x41", 2) + std::string(8, '\xff'));
}

TEST(ToolsPackedPkTest, UnpackRoundTripsIntegers) {
  const int64_t pk[] = {0, 1, 255, 256, -1, INT64_MIN, INT64_MAX};
  std::optional<std::vector<Value>> values = UnpackPk(PackIntegerPk(pk));
  ASSERT_TRUE(values.has_value());
  ASSERT_EQ(values->size(), 7u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ((*values)[i], Value::Integer(pk[i])) << i;
}

TEST(ToolsPackedPkTest, UnpacksTextAndNull) {
  std::string packed = std::string("\x02\x0b\x02hi\x05", 6);
  std::optional<std::vector<Value>> values = UnpackPk(packed);
  ASSERT_TRUE(values.has_value());
  EXPECT_EQ(*values, (std::vector<Value>{Value::Text("hi"), Value::Null()}));
}

TEST(ToolsPackedPkTest, GarbageIsShownAsHex) {
  EXPECT_FALSE(UnpackPk(std::string("\x02\x09\x01", 3)).has_value());  // one column missing
  EXPECT_FALSE(UnpackPk(std::string("\x01\x09\x01\x00", 4)).has_value());  // trailing byte
  EXPECT_EQ(PkToString(std::string("\x02\x09", 2)), "X'0209'");
  const int64_t pk[] = {1, 2};
  EXPECT_EQ(PkToString(PackIntegerPk(pk)), "[1, 2]");
}

TEST(ParseCommandLineTest, AcceptsEveryFormOfTheLimit) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"log", "-n", "7", "p"}, {"log", "-n7", "p"}, {"log", "--limit", "7", "p"},
           {"log", "p", "--limit=7"}}) {
    absl::StatusOr<Invocation> inv = ParseCommandLine(args);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_EQ(inv->command, Invocation::Command::kLog);
    EXPECT_EQ(inv->log.path, "p");
    EXPECT_EQ(inv->log.limit, 7u);
  }
}

TEST(ParseCommandLineTest, DoubleDashEndsFlags) {
  absl::StatusOr<Invocation> inv = ParseCommandLine({"verify", "--", "--odd-name"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->verify.path, "--odd-name");
}

TEST(ParseCommandLineTest, HelpAfterACommandAsksForItsHelp) {
  absl::StatusOr<Invocation> inv = ParseCommandLine({"demo", "--bogus-but-ignored", "--help"});
  // Flags are read in order: the bad one comes first and is the error.
  EXPECT_FALSE(inv.ok());
  inv = ParseCommandLine({"demo", "--help"});
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->command, Invocation::Command::kHelp);
  EXPECT_EQ(inv->help_topic, "demo");
}

TEST(ExitCodeForTest, MapsDataLossToOneAndOtherErrorsToThree) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::DataLossError("x")), 1);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("x")), 3);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("x")), 3);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("x")), 3);
}

}  // namespace
}  // namespace crlog::tools
