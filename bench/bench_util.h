// Shared pieces of the log/ benchmarks: scratch directories, the benchmark
// table's rows and events, a bare LMDB environment used as the baseline, and
// a stopwatch. Nothing here is timed on its own.
//
// Every suite measures crlog and its baseline in the same run, interleaved
// iteration by iteration, so a noisy neighbour on the machine slows both
// alike. The crlog side is reported through manual time (the "Time" column
// and every kIsRate counter); the baseline is reported beside it as plain
// counters, and `x_baseline` is crlog's time divided by the baseline's (2.0
// means crlog takes twice as long).
#ifndef CRLOG_BENCH_BENCH_UTIL_H_
#define CRLOG_BENCH_BENCH_UTIL_H_

#include <lmdb.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/store.h"

namespace crlog::bench {

// A fresh directory under $CRLOG_BENCH_DIR (else $TMPDIR, else /tmp),
// removed with everything in it when the object dies. Durable suites need it
// on a real disk, not tmpfs.
class TempDir {
 public:
  explicit TempDir(std::string_view tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A path inside the directory (not created).
  std::string Sub(std::string_view name) const;

 private:
  std::string path_;
};

// Bytes used by the files directly under `dir` (allocated blocks, so sparse
// files count what they hold, not their length).
uint64_t DiskBytes(const std::string& dir);

// cr-sqlite's packed pk of one integer column: the column count (1), then
// the header (n << 3) | 1 and n minimal big-endian bytes (0 for zero, 8 for
// negatives).
std::string PackIntPk(int64_t v);

// One row of the benchmark table
// (id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL), with
// deterministic content; `a` stays within the small-string buffer.
struct Row {
  int64_t id = 0;
  std::string a;
  int64_t b = 0;
  double c = 0;
};
Row RowFor(int64_t id);
// The value an UPDATE of every row writes into b: b + 1.
inline int64_t UpdatedB(const Row& r) { return r.b + 1; }

// The non-pk columns as events list them; b is index 1.
inline constexpr char kTable[] = "t";
inline constexpr uint32_t kColumnB = 1;
std::vector<std::string> TableColumns();

// A row made ready for the row encoder ahead of any timing, so that
// benchmarks time crlog's encoding, not the making of test data.
struct PreparedRow {
  std::string pk;  // PackIntPk(id)
  Value a, b, c;   // the inserted cells
  Value new_b;     // b after the UPDATE
};
std::vector<PreparedRow> PrepareRows(int64_t first_id, uint32_t rows);

// Writes `rows` as fresh inserts (causal length 1, three cells at column
// version 1) into `w`.
void WriteInsertRows(log::RowsWriter& w, absl::Span<const PreparedRow> rows);
// Writes the same rows as an UPDATE of b (causal length 1, one cell:
// column b, column version 2, the new value).
void WriteUpdateRows(log::RowsWriter& w, absl::Span<const PreparedRow> rows);

// A change event on table t holding the rows written into `rows`.
log::Event MakeChangeEvent(const log::SiteId& site, uint64_t seq, uint64_t lamport,
                           std::vector<log::Hash> parents, log::RowsWriter rows);

log::SiteId SiteNumber(uint8_t n);

// One site's chain of change events, each naming the previous as its parent
// (lamport == seq).
class Chain {
 public:
  explicit Chain(const log::SiteId& site) : site_(site) {}
  // Builds and encodes the next event: `rows` inserted.
  absl::StatusOr<log::EncodedEvent> NextInsert(absl::Span<const PreparedRow> rows);
  // Builds and encodes the next event: an UPDATE of b on `rows`.
  absl::StatusOr<log::EncodedEvent> NextUpdate(absl::Span<const PreparedRow> rows);
  uint64_t seq() const { return seq_; }

 private:
  absl::StatusOr<log::EncodedEvent> Encode(log::RowsWriter rows);
  log::SiteId site_;
  uint64_t seq_ = 0;
  std::optional<log::Hash> prev_;
};

// Events encoded but not yet stored: ids and canonical bytes side by side,
// because LogStore::Append takes a span of byte strings.
struct EncodedBatch {
  std::vector<log::Hash> hashes;
  std::vector<std::string> bytes;
  uint64_t total_bytes = 0;
  void Add(log::EncodedEvent e);
  void Clear();
  size_t size() const { return bytes.size(); }
};

// A bare LMDB environment, no crlog: the baseline. It mirrors the log's
// layout where a suite needs it:
//   events   position (u64 BE) -> hash (32) + canonical bytes
//   by_hash  hash (32)          -> position (u64 BE)
class RawLmdb {
 public:
  // `sync`: whether a commit reaches the disk before it returns.
  static absl::StatusOr<std::unique_ptr<RawLmdb>> Open(const std::string& dir, bool sync);
  ~RawLmdb();
  RawLmdb(const RawLmdb&) = delete;
  RawLmdb& operator=(const RawLmdb&) = delete;

  // Appends events in one transaction under the next positions
  // (MDB_APPEND). With `index`, also writes by_hash.
  absl::Status Append(absl::Span<const log::Hash> hashes, absl::Span<const std::string> bytes,
                      bool index);

  // The bytes of the event with id `hash` (by_hash, then events), copied.
  absl::StatusOr<std::string> Get(const log::Hash& hash) const;
  // The bytes of the one event whose id starts with `prefix` (raw bytes).
  absl::StatusOr<std::string> GetByPrefix(std::string_view prefix) const;
  // Copies out the events at positions from `from` on, in order.
  absl::StatusOr<std::vector<std::string>> ReadFrom(uint64_t from) const;
  // Reads every event and checks that its bytes hash to its stored id;
  // returns the bytes hashed.
  absl::StatusOr<uint64_t> HashAll() const;

  uint64_t events() const { return next_position_ - 1; }

 private:
  RawLmdb() = default;
  MDB_env* env_ = nullptr;
  MDB_dbi events_ = 0;
  MDB_dbi by_hash_ = 0;
  uint64_t next_position_ = 1;
};

// SHA-256 straight through OpenSSL EVP, digest and context fetched once:
// the floor under any hashing crlog does.
class RawSha256 {
 public:
  RawSha256();
  ~RawSha256();
  RawSha256(const RawSha256&) = delete;
  RawSha256& operator=(const RawSha256&) = delete;
  log::Hash Digest(std::string_view bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Wall-clock seconds since construction or the last Restart().
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void Restart() { start_ = std::chrono::steady_clock::now(); }
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Accumulates crlog and baseline time over a benchmark's iterations and
// publishes the comparison counters.
struct VsBaseline {
  double crlog_s = 0;
  double base_s = 0;
  // x_baseline = crlog time / baseline time, and the baseline's rate of
  // `units` per second under `base_rate_name`.
  void Report(benchmark::State& state, double units, const char* base_rate_name) const;
};

// Opens a LogStore in `dir`, or records the error on `state` and returns
// null.
std::unique_ptr<log::LogStore> OpenStoreOrSkip(benchmark::State& state, const std::string& dir);

// Records `status` on `state` when it is an error; returns status.ok().
bool OkOrSkip(benchmark::State& state, const absl::Status& status, std::string_view what);

}  // namespace crlog::bench

#endif  // CRLOG_BENCH_BENCH_UTIL_H_
