// Helpers shared by the log/ tests: status assertions, a temp directory per
// test, and builders for events that obey (or deliberately break) the rules
// of log/event.h and log/store.h.
#ifndef CRLOG_TESTS_LOG_TEST_UTIL_H_
#define CRLOG_TESTS_LOG_TEST_UTIL_H_

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/row_codec.h"
#include "log/store.h"
#include "crlog/value.h"
#include "tests/support/temp_dir.h"

namespace crlog::log::testing {

// --- Status assertions ------------------------------------------------------

inline absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

#define CRLOG_CONCAT_INNER_(a, b) a##b
#define CRLOG_CONCAT_(a, b) CRLOG_CONCAT_INNER_(a, b)

#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    const absl::Status crlog_st_ = ::crlog::log::testing::StatusOf(expr); \
    ASSERT_TRUE(crlog_st_.ok()) << #expr << " -> " << crlog_st_;         \
  } while (0)

#define EXPECT_OK(expr)                                                  \
  do {                                                                   \
    const absl::Status crlog_st_ = ::crlog::log::testing::StatusOf(expr); \
    EXPECT_TRUE(crlog_st_.ok()) << #expr << " -> " << crlog_st_;         \
  } while (0)

// Asserts `expr` fails with `code`.
#define ASSERT_CODE(expr, code_)                                         \
  do {                                                                   \
    const absl::Status crlog_st_ = ::crlog::log::testing::StatusOf(expr); \
    ASSERT_EQ(crlog_st_.code(), (code_)) << #expr << " -> " << crlog_st_; \
  } while (0)

#define EXPECT_CODE(expr, code_)                                         \
  do {                                                                   \
    const absl::Status crlog_st_ = ::crlog::log::testing::StatusOf(expr); \
    EXPECT_EQ(crlog_st_.code(), (code_)) << #expr << " -> " << crlog_st_; \
  } while (0)

#define ASSERT_NOT_OK(expr)                                              \
  do {                                                                   \
    const absl::Status crlog_st_ = ::crlog::log::testing::StatusOf(expr); \
    ASSERT_FALSE(crlog_st_.ok()) << #expr << " unexpectedly succeeded";  \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CRLOG_ASSERT_OK_AND_ASSIGN_IMPL_(CRLOG_CONCAT_(crlog_sor_, __LINE__), lhs, expr)
#define CRLOG_ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)           \
  auto tmp = (expr);                                              \
  ASSERT_TRUE(tmp.ok()) << #expr << " -> " << tmp.status();        \
  lhs = std::move(tmp).value()

inline std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- A fresh directory per test --------------------------------------------

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    std::filesystem::create_directories(dir_ / "log");
  }
  // The log directory of this test (exists, empty at start).
  std::string LogPath() const { return (dir_ / "log").string(); }
  std::string PathIn(std::string_view name) const { return (dir_ / std::string(name)).string(); }

  test_support::TempDir tmp_{"crlog-log"};
  std::filesystem::path dir_;
};

// A test with one LogStore open on LogPath().
class StoreTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto s = LogStore::Open(LogPath(), options_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
  }
  // Closes and reopens the store (the env is released when the last store on
  // the path goes away).
  void Reopen() {
    store_.reset();
    auto s = LogStore::Open(LogPath(), options_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(s).value();
  }
  StoreOptions options_;
  std::unique_ptr<LogStore> store_;
};

// --- Ids --------------------------------------------------------------------

// A site id with every byte `n` (n != 0).
inline SiteId Site(uint8_t n) {
  SiteId s{};
  s.fill(n);
  return s;
}

// An arbitrary hash with every byte `n`.
inline Hash FakeHash(uint8_t n) {
  Hash h{};
  h.fill(n);
  return h;
}

inline std::vector<Hash> Sorted(std::vector<Hash> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// --- Events -----------------------------------------------------------------

// One table "t" (columns a, b) with one row whose pk and text value come
// from `payload`.
inline TableChanges OneRowTable(std::string_view payload, std::string_view table = "t") {
  RowsWriter w;
  RowOp row;
  row.pk = "pk:" + std::string(payload);
  row.causal_length = 1;
  row.cells.push_back(CellOp{0, 1, Value::Text(payload), 0});
  row.cells.push_back(CellOp{1, 1, Value::Integer(static_cast<int64_t>(payload.size())), 0});
  w.AddRow(row);
  TableChanges t;
  t.table = std::string(table);
  t.columns = {"a", "b"};
  t.row_count = w.row_count();
  t.rows = w.Release();
  return t;
}

// A native change event with the given header fields.
inline Event ChangeEvent(const SiteId& site, uint64_t seq, uint64_t lamport,
                         std::vector<Hash> parents, std::string_view payload = "") {
  Event e;
  e.kind = EventKind::kChange;
  e.site = site;
  e.seq = seq;
  e.lamport = lamport;
  e.time_micros = 1'700'000'000'000'000 + static_cast<int64_t>(seq);
  e.parents = std::move(parents);
  std::string p = payload.empty() ? absl::StrCat(ToHex(site).substr(0, 4), "/", seq)
                                  : std::string(payload);
  e.tables.push_back(OneRowTable(p));
  return e;
}

// An import event (no site, seq 0, no parents, lamport 1); `salt` makes its
// content (and so its id) distinct.
inline Event ImportEvent(uint64_t salt, const SiteId& origin = Site(0xEE)) {
  Event e;
  e.kind = EventKind::kImport;
  e.lamport = 1;
  e.time_micros = static_cast<int64_t>(salt);
  e.origins = {origin};
  RowsWriter w(/*with_origins=*/true);
  w.BeginRow(absl::StrCat("import-pk:", salt), 1, 1);
  w.AddCell(0, 1, Value::Integer(static_cast<int64_t>(salt)), 0);
  TableChanges t;
  t.table = "t";
  t.columns = {"a"};
  t.row_count = w.row_count();
  t.rows = w.Release();
  e.tables.push_back(std::move(t));
  return e;
}

// EncodeEvent that records a test failure (and returns an empty event) when
// encoding fails.
inline EncodedEvent Encode(const Event& e) {
  auto r = EncodeEvent(e);
  if (!r.ok()) {
    ADD_FAILURE() << "EncodeEvent failed: " << r.status();
    return {};
  }
  return std::move(r).value();
}

// Builds events that obey the store's rules: per-site seq 1, 2, 3 ... and
// lamport 1 + max over parents (parents must have been built here).
class History {
 public:
  EncodedEvent Native(const SiteId& site, std::vector<Hash> parents,
                      std::string_view payload = "") {
    uint64_t lamport = 1;
    for (const Hash& p : parents) {
      auto it = lamports_.find(p);
      if (it == lamports_.end()) {
        ADD_FAILURE() << "History::Native: unknown parent " << ShortHex(p);
      } else {
        lamport = std::max(lamport, it->second + 1);
      }
    }
    uint64_t seq = ++last_seq_[site];
    EncodedEvent enc = Encode(ChangeEvent(site, seq, lamport, std::move(parents), payload));
    lamports_[enc.hash] = lamport;
    return enc;
  }
  EncodedEvent Import(uint64_t salt) {
    EncodedEvent enc = Encode(ImportEvent(salt));
    lamports_[enc.hash] = 1;
    return enc;
  }
  // Takes the site's next seq, for events built elsewhere.
  uint64_t TakeSeq(const SiteId& site) { return ++last_seq_[site]; }
  // Registers an event built elsewhere so it can be used as a parent.
  void Remember(const Hash& h, uint64_t lamport) { lamports_[h] = lamport; }
  uint64_t LamportOf(const Hash& h) const { return lamports_.at(h); }
  uint64_t LastSeq(const SiteId& site) const {
    auto it = last_seq_.find(site);
    return it == last_seq_.end() ? 0 : it->second;
  }

 private:
  std::map<Hash, uint64_t> lamports_;
  std::map<SiteId, uint64_t> last_seq_;
};

inline std::vector<std::string> BytesOf(std::initializer_list<const EncodedEvent*> events) {
  std::vector<std::string> out;
  for (const EncodedEvent* e : events) out.push_back(e->bytes);
  return out;
}

// --- Observing a store ------------------------------------------------------

// Everything a reader can see, to check that a failed write changed nothing.
struct StoreSnapshot {
  uint64_t events = 0;
  uint64_t pending = 0;
  uint64_t event_bytes = 0;
  std::vector<Hash> heads;
  VersionVector vv;
  std::vector<Hash> order;          // ForEach order
  std::vector<Hash> pending_hashes;  // PendingEvents order
  friend bool operator==(const StoreSnapshot&, const StoreSnapshot&) = default;
};

inline absl::StatusOr<StoreSnapshot> Snapshot(const LogStore& store) {
  StoreSnapshot s;
  auto stats = store.Stats();
  if (!stats.ok()) return stats.status();
  s.events = stats->events;
  s.pending = stats->pending;
  s.event_bytes = stats->event_bytes;
  auto heads = store.Heads();
  if (!heads.ok()) return heads.status();
  s.heads = *heads;
  auto vv = store.GetVersionVector();
  if (!vv.ok()) return vv.status();
  s.vv = *vv;
  absl::Status st = store.ForEach([&](const StoredEvent& e) {
    s.order.push_back(e.hash);
    return true;
  });
  if (!st.ok()) return st;
  auto pending = store.PendingEvents();
  if (!pending.ok()) return pending.status();
  for (const StoredEvent& e : *pending) s.pending_hashes.push_back(e.hash);
  return s;
}

inline std::ostream& operator<<(std::ostream& os, const StoreSnapshot& s) {
  os << "{events=" << s.events << " pending=" << s.pending << " bytes=" << s.event_bytes
     << " heads=[";
  for (const Hash& h : s.heads) os << ShortHex(h) << " ";
  os << "] vv={";
  for (const auto& [site, seq] : s.vv) os << ToHex(site).substr(0, 4) << ":" << seq << " ";
  os << "} order=" << s.order.size() << " pending_hashes=" << s.pending_hashes.size() << "}";
  return os;
}

inline std::vector<Hash> HashesOf(const std::vector<StoredEvent>& events) {
  std::vector<Hash> out;
  for (const StoredEvent& e : events) out.push_back(e.hash);
  return out;
}

// Short ids, for readable comparisons in test output.
inline std::vector<std::string> ShortHexes(const std::vector<Hash>& v) {
  std::vector<std::string> out;
  for (const Hash& h : v) out.push_back(ShortHex(h));
  return out;
}

inline std::vector<Hash> AllInOrder(const LogStore& store) {
  std::vector<Hash> out;
  absl::Status st = store.ForEach([&](const StoredEvent& e) {
    out.push_back(e.hash);
    return true;
  });
  if (!st.ok()) ADD_FAILURE() << "ForEach: " << st;
  return out;
}

}  // namespace crlog::log::testing

#endif  // CRLOG_TESTS_LOG_TEST_UTIL_H_
