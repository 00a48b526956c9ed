// Bad input to LogStore (log/store.h): bytes that are not events, events
// that break a rule, batches with one bad member (all or nothing), a log
// from another format version, and a full map.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/store.h"
#include "log/verify.h"
#include "tests/log/raw_lmdb.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::ChangeEvent;
using ::crlog::log::testing::Encode;
using ::crlog::log::testing::History;
using ::crlog::log::testing::ImportEvent;
using ::crlog::log::testing::Lower;
using ::crlog::log::testing::RawLmdb;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::Snapshot;
using ::crlog::log::testing::StatusOf;
using ::crlog::log::testing::StoreSnapshot;
using ::crlog::log::testing::StoreTest;
using ::crlog::log::testing::TempDirTest;
using ::crlog::log::testing::U32BE;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

constexpr Durability kNoSync = Durability::kNoSync;

class StoreBadInputTest : public StoreTest {
 protected:
  // Appends `bytes` and expects InvalidArgument with nothing changed.
  void ExpectRefusedAsInvalid(const std::string& bytes) {
    ASSERT_OK_AND_ASSIGN(StoreSnapshot before, Snapshot(*store_));
    auto r = store_->Append(bytes, kNoSync);
    EXPECT_EQ(StatusOf(r).code(), absl::StatusCode::kInvalidArgument) << StatusOf(r);
    auto p = store_->AppendPending({bytes}, kNoSync);
    EXPECT_EQ(StatusOf(p).code(), absl::StatusCode::kInvalidArgument) << StatusOf(p);
    ASSERT_OK_AND_ASSIGN(StoreSnapshot after, Snapshot(*store_));
    EXPECT_EQ(before, after);
  }
};

TEST_F(StoreBadInputTest, BytesThatAreNotAnEventAreRefused) {
  ExpectRefusedAsInvalid("");
  ExpectRefusedAsInvalid("not an event at all");
  ExpectRefusedAsInvalid(std::string(64, '\0'));
  std::mt19937 rng(5);
  SCOPED_TRACE("seed=5");
  for (int i = 0; i < 20; ++i) {
    std::string bytes(8 * (1 + rng() % 20), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ExpectRefusedAsInvalid(bytes);
  }
}

TEST_F(StoreBadInputTest, TruncatedEventIsRefused) {
  EncodedEvent e = Encode(ChangeEvent(Site(1), 1, 1, {}));
  ExpectRefusedAsInvalid(e.bytes.substr(0, e.bytes.size() - 8));
  ExpectRefusedAsInvalid(e.bytes.substr(0, e.bytes.size() - 1));
}

TEST_F(StoreBadInputTest, NonCanonicalEventIsRefused) {
  EncodedEvent e = Encode(ChangeEvent(Site(1), 1, 1, {}));
  ExpectRefusedAsInvalid(e.bytes + std::string(8, '\0'));
}

TEST_F(StoreBadInputTest, EventOverTheStoresSizeLimitIsRefused) {
  options_.max_event_bytes = 4096;
  Reopen();
  Event big = ChangeEvent(Site(1), 1, 1, {}, std::string(10000, 'x'));
  EncodedEvent e = Encode(big);
  ASSERT_GT(e.bytes.size(), 4096u);
  ExpectRefusedAsInvalid(e.bytes);
  EncodedEvent small = Encode(ChangeEvent(Site(1), 1, 1, {}, "small"));
  EXPECT_OK(store_->Append(small.bytes, kNoSync));
}

// One way of breaking an event, given the store's content (a1, a2 on site
// 1; b1 on site 2). Site 4 is otherwise unused.
struct BadCase {
  const char* name;
  std::function<std::string(const EncodedEvent& a2, const EncodedEvent& b1)> make;
};

std::vector<BadCase> BadCases() {
  return {
      {"garbage",
       [](const EncodedEvent&, const EncodedEvent&) {
         return std::string("definitely not an event!");
       }},
      {"non-canonical",
       [](const EncodedEvent& a2, const EncodedEvent&) {
         return Encode(ChangeEvent(Site(4), 1, 3, {a2.hash})).bytes + std::string(8, '\0');
       }},
      {"seq gap",
       [](const EncodedEvent& a2, const EncodedEvent&) {
         return Encode(ChangeEvent(Site(1), 9, 3, {a2.hash})).bytes;
       }},
      {"wrong lamport",
       [](const EncodedEvent& a2, const EncodedEvent& b1) {
         return Encode(ChangeEvent(Site(4), 1, 7, {a2.hash, b1.hash})).bytes;
       }},
      {"missing parent",
       [](const EncodedEvent&, const EncodedEvent&) {
         return Encode(ChangeEvent(Site(4), 1, 2, {testing::FakeHash(0x42)})).bytes;
       }},
      {"copied database",
       [](const EncodedEvent&, const EncodedEvent&) {
         return Encode(ChangeEvent(Site(2), 1, 1, {}, "another b1")).bytes;
       }},
  };
}

TEST_F(StoreBadInputTest, BadEventAnywhereInABatchLeavesTheStoreUnchanged) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent a2 = h.Native(Site(1), {a1.hash});
  EncodedEvent b1 = h.Native(Site(2), {a1.hash});
  ASSERT_OK(store_->Append({a1.bytes, a2.bytes, b1.bytes}, kNoSync));
  // Good events the batches carry with the bad one.
  EncodedEvent a3 = h.Native(Site(1), {a2.hash, b1.hash});
  EncodedEvent i = h.Import(1);
  EncodedEvent c1 = h.Native(Site(3), {a3.hash, i.hash});

  ASSERT_OK_AND_ASSIGN(StoreSnapshot before, Snapshot(*store_));
  for (const BadCase& bad : BadCases()) {
    const std::string bad_bytes = bad.make(a2, b1);
    for (size_t at = 0; at <= 3; ++at) {
      SCOPED_TRACE(::testing::Message() << bad.name << " at index " << at);
      std::vector<std::string> batch = {a3.bytes, i.bytes, c1.bytes};
      batch.insert(batch.begin() + static_cast<long>(at), bad_bytes);
      ASSERT_FALSE(store_->Append(batch, kNoSync).ok());
      ASSERT_OK_AND_ASSIGN(StoreSnapshot after, Snapshot(*store_));
      EXPECT_EQ(before, after);
      ASSERT_FALSE(store_->AppendPending(batch, kNoSync).ok());
      ASSERT_OK_AND_ASSIGN(after, Snapshot(*store_));
      EXPECT_EQ(before, after);
      for (const EncodedEvent* e : {&a3, &i, &c1}) {
        ASSERT_OK_AND_ASSIGN(bool has, store_->Contains(e->hash));
        EXPECT_FALSE(has);
      }
      ASSERT_OK_AND_ASSIGN(uint64_t next1, store_->NextSeq(Site(1)));
      EXPECT_EQ(next1, 3u);
      ASSERT_OK_AND_ASSIGN(uint64_t next3, store_->NextSeq(Site(3)));
      EXPECT_EQ(next3, 1u);
    }
  }
  // Nothing was left half-done: the good events still go in, and the log
  // verifies.
  ASSERT_OK(store_->Append({a3.bytes, i.bytes, c1.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, Verify(*store_));
  EXPECT_EQ(report.events, 6u);
}

TEST_F(StoreBadInputTest, FailedBatchNamesTheEventAtFault) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent a2 = h.Native(Site(1), {a1.hash});
  EncodedEvent bad = Encode(ChangeEvent(Site(2), 1, 5, {a1.hash}));  // lamport should be 2
  auto r = store_->Append({a1.bytes, a2.bytes, bad.bytes}, kNoSync);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(StatusOf(r).message()), HasSubstr(ShortHex(bad.hash)));
}

// --- Format version --------------------------------------------------------

using StoreFormatTest = TempDirTest;

TEST_F(StoreFormatTest, LogFromAnotherFormatVersionIsRefused) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath()));
    ASSERT_OK(s->Append(Encode(ImportEvent(1)).bytes, kNoSync));
  }
  for (uint32_t version : {format::kFormatVersion + 1, uint32_t{0}, uint32_t{0xffffffff}}) {
    SCOPED_TRACE(::testing::Message() << "format_version " << version);
    {
      RawLmdb raw(LogPath());
      ASSERT_TRUE(raw.ok());
      ASSERT_TRUE(raw.Get(format::kMetaDb, format::kMetaFormatVersion).has_value());
      raw.Put(format::kMetaDb, format::kMetaFormatVersion, U32BE(version));
    }
    auto s = LogStore::Open(LogPath());
    ASSERT_EQ(StatusOf(s).code(), absl::StatusCode::kFailedPrecondition) << StatusOf(s);
    EXPECT_THAT(Lower(std::string(StatusOf(s).message())), HasSubstr("version"));
  }
  // Put back, it opens again.
  {
    RawLmdb raw(LogPath());
    raw.Put(format::kMetaDb, format::kMetaFormatVersion, U32BE(format::kFormatVersion));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath()));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, s->Stats());
  EXPECT_EQ(stats.events, 1u);
}

TEST_F(StoreFormatTest, MalformedFormatVersionIsRefused) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath()));
  }
  {
    RawLmdb raw(LogPath());
    ASSERT_TRUE(raw.ok());
    raw.Put(format::kMetaDb, format::kMetaFormatVersion, "1");  // not a u32 BE
  }
  EXPECT_FALSE(LogStore::Open(LogPath()).ok());
}

// --- Map full --------------------------------------------------------------

class StoreMapFullTest : public StoreTest {
 protected:
  StoreMapFullTest() { options_.map_size = 256 * 1024; }
};

TEST_F(StoreMapFullTest, FullMapIsResourceExhaustedAndLosesNothing) {
  std::vector<EncodedEvent> stored;
  absl::Status failure;
  std::string failed_bytes;
  for (uint64_t n = 0; n < 1000; ++n) {
    Event e = ImportEvent(n);
    RowsWriter w(/*with_origins=*/true);
    w.BeginRow("pk" + std::to_string(n), 1, 1);
    w.AddCell(0, 1, Value::Blob(std::string(8000, static_cast<char>(n))), 0);
    e.tables[0].row_count = w.row_count();
    e.tables[0].rows = w.Release();
    EncodedEvent enc = Encode(e);
    auto r = store_->Append(enc.bytes, kNoSync);
    if (!r.ok()) {
      failure = r.status();
      failed_bytes = enc.bytes;
      break;
    }
    stored.push_back(enc);
  }
  ASSERT_FALSE(failure.ok()) << "256 KiB never filled up";
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_THAT(Lower(std::string(failure.message())), ContainsRegex("full|map"));
  ASSERT_FALSE(stored.empty());

  // Still readable, and nothing earlier was lost.
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.events, stored.size());
  for (const EncodedEvent& e : stored) {
    ASSERT_OK_AND_ASSIGN(StoredEvent got, store_->Get(e.hash));
    EXPECT_EQ(got.bytes, e.bytes);
  }
  ASSERT_OK_AND_ASSIGN(VerifyReport report, Verify(*store_));
  EXPECT_EQ(report.events, stored.size());
  // Trying again fails the same way; the store is not wedged.
  EXPECT_CODE(store_->Append(failed_bytes, kNoSync), absl::StatusCode::kResourceExhausted);
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_EQ(heads.size(), stored.size());
  Reopen();
  ASSERT_OK_AND_ASSIGN(stats, store_->Stats());
  EXPECT_EQ(stats.events, stored.size());
}

// A data.mdb shorter than the pages LMDB says it uses used to kill the
// process with SIGBUS on the first read through the map, read-only opens
// included; a 0-byte one was silently made into a new, empty log. Both are
// refused at open, naming the file and what it is.
TEST_F(StoreBadInputTest, ATruncatedOrEmptyDataFileIsRefusedAtOpen) {
  History h;
  std::vector<Hash> parents;
  for (int i = 0; i < 300; ++i) {
    EncodedEvent e = h.Native(Site(1), parents, std::string(200, static_cast<char>('a' + i % 26)));
    auto r = store_->Append(e.bytes, kNoSync);
    ASSERT_TRUE(r.ok()) << r.status();
    parents = {e.hash};
  }
  store_.reset();
  const std::string data = LogPath() + "/data.mdb";
  const std::uintmax_t full = std::filesystem::file_size(data);
  ASSERT_GT(full, 8 * 4096u);
  std::string original;
  {
    std::ifstream in(data, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (std::uintmax_t size : {full / 2, full - 4096, std::uintmax_t{0}}) {
    SCOPED_TRACE(absl::StrCat("data.mdb cut to ", size, " of ", full, " bytes"));
    std::filesystem::resize_file(data, size);
    for (bool read_only : {true, false}) {
      StoreOptions options = options_;
      options.read_only = read_only;
      auto opened = LogStore::Open(LogPath(), options);
      ASSERT_FALSE(opened.ok()) << "read_only=" << read_only;
      EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
      EXPECT_THAT(opened.status().message(), HasSubstr(data));
      EXPECT_THAT(opened.status().message(), HasSubstr(size == 0 ? "is empty (0 bytes)" : "is truncated"));
    }
    EXPECT_EQ(std::filesystem::file_size(data), size) << "nothing was written over it";
    std::ofstream(data, std::ios::binary | std::ios::trunc) << original;
  }
  Reopen();
  ASSERT_OK_AND_ASSIGN(StoreSnapshot restored, Snapshot(*store_));
  EXPECT_EQ(restored.events, 300u);
}

}  // namespace
}  // namespace crlog::log
