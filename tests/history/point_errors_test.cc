// A point that names nothing, or is no point at all, fails with a clear
// error naming the text as written (engine::ResolvePoint): NotFound for an
// unknown id, site or seq and a time before anything arrived;
// InvalidArgument for an ambiguous prefix and for text that is no point.
// The forms that do name something resolve to what they name.
#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/history/point.h"
#include "gtest/gtest.h"
#include "log/hash.h"
#include "tests/capture/capture_test_util.h"
#include "tests/history/history_test_util.h"

namespace crlog::history_test {
namespace {

using capture_test::Db;
using capture_test::TempDir;

// One replica with enough events that two ids share their first 4 hex
// digits (an ambiguous prefix), opened in-process after the extension has
// let go of its log.
class PointErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    path_ = new std::string(dir_->File("app.db"));
    {
      Db db(*path_, true, "PRAGMA synchronous=OFF");
      ASSERT_TRUE(db.loaded()) << db.load_error();
      db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v); SELECT crsql_as_crr('t')");
      // Ids are random: add events until two share a 4-digit prefix
      // (about 300 on average).
      std::map<std::string, int> prefixes;
      for (int i = 0; i < 5000 && shared_prefix_->empty(); ++i) {
        db.Exec(absl::StrCat("INSERT INTO t VALUES (", i, ", 'v')"));
        std::string hash = db.Bytes("SELECT lower(hex(hash)) FROM crlog_watermark");
        if (++prefixes[hash.substr(0, 4)] == 2) *shared_prefix_ = hash.substr(0, 4);
      }
    }
    auto log = OpenReplicaLog(*path_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = new ReplicaLog(*std::move(log));
  }
  static void TearDownTestSuite() {
    delete log_;
    delete path_;
    delete dir_;
  }

  absl::StatusOr<engine::Point> Resolve(const std::string& text) {
    return engine::ResolvePoint(*log_->store, log_->site, log_->heads, text);
  }
  // Fails with `code`, naming `text`.
  void ExpectError(const std::string& text, absl::StatusCode code) {
    auto p = Resolve(text);
    ASSERT_FALSE(p.ok()) << "'" << text << "' resolved";
    EXPECT_EQ(p.status().code(), code) << p.status();
    EXPECT_NE(p.status().message().find(text), std::string::npos)
        << "the error does not name '" << text << "': " << p.status();
  }

  static TempDir* dir_;
  static std::string* path_;
  static std::string* shared_prefix_;
  static ReplicaLog* log_;
};

TempDir* PointErrorsTest::dir_ = nullptr;
std::string* PointErrorsTest::path_ = nullptr;
std::string* PointErrorsTest::shared_prefix_ = new std::string();
ReplicaLog* PointErrorsTest::log_ = nullptr;

TEST_F(PointErrorsTest, AnUnknownEventIdIsNotFound) {
  auto newest = log_->store->GetBySiteSeq(log_->site, 1);
  ASSERT_TRUE(newest.ok());
  std::string hex = log::ToHex(newest->hash);
  hex[63] = hex[63] == '0' ? '1' : '0';
  ExpectError(hex, absl::StatusCode::kNotFound);
}

TEST_F(PointErrorsTest, APrefixOfNoEventIsNotFound) {
  // Prefixes of 10 digits: 2^40 of them, a few hundred ids.
  for (const char* prefix : {"0123456789", "fedcba9876", "a5a5a5a5a5"}) {
    auto p = Resolve(prefix);
    if (p.ok()) continue;  // astronomically unlikely, but an id might start so
    EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound) << p.status();
    EXPECT_NE(p.status().message().find(prefix), std::string::npos) << p.status();
  }
}

TEST_F(PointErrorsTest, AnAmbiguousPrefixIsInvalidArgument) {
  ASSERT_FALSE(shared_prefix_->empty()) << "no two of the events share a 4-digit prefix";
  ExpectError(*shared_prefix_, absl::StatusCode::kInvalidArgument);
}

TEST_F(PointErrorsTest, APrefixShorterThanFourDigitsIsInvalidArgument) {
  ExpectError("abc", absl::StatusCode::kInvalidArgument);
}

TEST_F(PointErrorsTest, AnUnknownSiteIsNotFound) {
  std::string site = log::ToHex(log_->site);
  site[0] = site[0] == 'f' ? '0' : 'f';
  ExpectError(absl::StrCat(site, ":1"), absl::StatusCode::kNotFound);
}

TEST_F(PointErrorsTest, ASeqPastTheSitesEndIsNotFound) {
  auto vv = log_->store->GetVersionVector();
  ASSERT_TRUE(vv.ok());
  uint64_t newest = vv->at(log_->site);
  const std::string site = log::ToHex(log_->site);
  ExpectError(absl::StrCat(site, ":", newest + 1), absl::StatusCode::kNotFound);
  ExpectError(absl::StrCat(site, ":0"), absl::StatusCode::kNotFound);
  // The last one there is found, with a prefix of the site too.
  auto last = Resolve(absl::StrCat(site.substr(0, 8), ":", newest));
  ASSERT_TRUE(last.ok()) << last.status();
  auto stored = log_->store->GetBySiteSeq(log_->site, newest);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(last->heads, std::vector<log::Hash>{stored->hash});
}

TEST_F(PointErrorsTest, ATimeBeforeTheFirstArrivalIsNotFound) {
  ExpectError("2001-02-03", absl::StatusCode::kNotFound);
  ExpectError("@1000000000", absl::StatusCode::kNotFound);
  auto first = log_->store->ArrivalMicros(1);
  ASSERT_TRUE(first.ok() && first->has_value());
  const std::string just_before =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(**first - 1), absl::UTCTimeZone());
  ExpectError(just_before, absl::StatusCode::kNotFound);
  // At the first arrival itself: the first event.
  const std::string at =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(**first), absl::UTCTimeZone());
  auto p = Resolve(at);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(p->up_to_position.has_value());
  EXPECT_GE(*p->up_to_position, 1u);
}

TEST_F(PointErrorsTest, TextThatIsNoPointIsInvalidArgument) {
  for (const char* text : {"yesterday", "HEAD~1", "12:xyz", "zz", "2026-13-45", "@soon", "g123456"}) {
    SCOPED_TRACE(text);
    ExpectError(text, absl::StatusCode::kInvalidArgument);
  }
  auto empty = Resolve("");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument) << empty.status();
}

TEST_F(PointErrorsTest, HeadIsTheMaterialisedHeads) {
  auto p = Resolve("head");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->heads, log_->heads);
  EXPECT_EQ(p->schema_site, log_->site);
  EXPECT_FALSE(p->up_to_position.has_value());
}

}  // namespace
}  // namespace crlog::history_test
