// Shared pieces of the log/ benchmarks (bench/bench_util.h).
#include "bench/bench_util.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace crlog::bench {
namespace {

std::string ScratchRoot() {
  for (const char* var : {"CRLOG_BENCH_DIR", "TMPDIR"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  return "/tmp";
}

void PutU64BE(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

absl::Status LmdbError(int rc, std::string_view what) {
  return absl::InternalError(absl::StrCat("raw lmdb ", std::string(what), ": ", mdb_strerror(rc)));
}

MDB_val Val(const void* data, size_t size) {
  MDB_val v;
  v.mv_size = size;
  v.mv_data = const_cast<void*>(data);
  return v;
}

// A read-only transaction aborted when it goes out of scope.
class ReadTxn {
 public:
  explicit ReadTxn(MDB_env* env) { rc_ = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); }
  ~ReadTxn() {
    if (rc_ == 0) mdb_txn_abort(txn_);
  }
  int rc() const { return rc_; }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_ = 0;
};

}  // namespace

TempDir::TempDir(std::string_view tag) {
  std::string tmpl = absl::StrCat(ScratchRoot(), "/crlog-bench-", std::string(tag), "-XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    std::perror("crlog bench: mkdtemp");
    std::abort();
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Sub(std::string_view name) const { return absl::StrCat(path_, "/", std::string(name)); }

uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    struct stat st;
    if (stat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

std::string PackIntPk(int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  int n = 0;
  if (v < 0) {
    n = 8;
  } else {
    for (uint64_t x = u; x != 0; x >>= 8) ++n;
  }
  std::string out;
  out.reserve(2 + n);
  out.push_back(1);                                // column count
  out.push_back(static_cast<char>((n << 3) | 1));  // (bytes << 3) | SQLITE_INTEGER
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  return out;
}

Row RowFor(int64_t id) {
  Row r;
  r.id = id;
  r.a = absl::StrCat("name-", id);
  r.b = static_cast<int64_t>((static_cast<uint64_t>(id) * 2654435761u) % 1000000);
  r.c = static_cast<double>(id) * 0.25;
  return r;
}

std::vector<std::string> TableColumns() { return {"a", "b", "c"}; }

std::vector<PreparedRow> PrepareRows(int64_t first_id, uint32_t rows) {
  std::vector<PreparedRow> out;
  out.reserve(rows);
  for (int64_t id = first_id; id < first_id + rows; ++id) {
    const Row r = RowFor(id);
    out.push_back(PreparedRow{PackIntPk(id), Value::Text(r.a), Value::Integer(r.b),
                              Value::Real(r.c), Value::Integer(UpdatedB(r))});
  }
  return out;
}

void WriteInsertRows(log::RowsWriter& w, absl::Span<const PreparedRow> rows) {
  for (const PreparedRow& r : rows) {
    w.BeginRow(r.pk, 1, 3);
    w.AddCell(0, 1, r.a);
    w.AddCell(1, 1, r.b);
    w.AddCell(2, 1, r.c);
  }
}

void WriteUpdateRows(log::RowsWriter& w, absl::Span<const PreparedRow> rows) {
  for (const PreparedRow& r : rows) {
    w.BeginRow(r.pk, 1, 1);
    w.AddCell(kColumnB, 2, r.new_b);
  }
}

log::Event MakeChangeEvent(const log::SiteId& site, uint64_t seq, uint64_t lamport,
                           std::vector<log::Hash> parents, log::RowsWriter rows) {
  log::Event e;
  e.kind = log::EventKind::kChange;
  e.site = site;
  e.seq = seq;
  e.lamport = lamport;
  e.time_micros = int64_t{1'700'000'000'000'000} + static_cast<int64_t>(seq);
  e.parents = std::move(parents);
  log::TableChanges t;
  t.table = kTable;
  t.columns = TableColumns();
  t.row_count = rows.row_count();
  t.rows = rows.Release();
  e.tables.push_back(std::move(t));
  return e;
}

log::SiteId SiteNumber(uint8_t n) {
  log::SiteId s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(0x10 * n + i);
  return s;
}

absl::StatusOr<log::EncodedEvent> Chain::NextInsert(absl::Span<const PreparedRow> rows) {
  log::RowsWriter w;
  WriteInsertRows(w, rows);
  return Encode(std::move(w));
}

absl::StatusOr<log::EncodedEvent> Chain::NextUpdate(absl::Span<const PreparedRow> rows) {
  log::RowsWriter w;
  WriteUpdateRows(w, rows);
  return Encode(std::move(w));
}

absl::StatusOr<log::EncodedEvent> Chain::Encode(log::RowsWriter rows) {
  std::vector<log::Hash> parents;
  if (prev_.has_value()) parents.push_back(*prev_);
  absl::StatusOr<log::EncodedEvent> e =
      log::EncodeEvent(MakeChangeEvent(site_, seq_ + 1, seq_ + 1, std::move(parents), std::move(rows)));
  if (e.ok()) {
    ++seq_;
    prev_ = e->hash;
  }
  return e;
}

void EncodedBatch::Add(log::EncodedEvent e) {
  hashes.push_back(e.hash);
  total_bytes += e.bytes.size();
  bytes.push_back(std::move(e.bytes));
}

void EncodedBatch::Clear() {
  hashes.clear();
  bytes.clear();
  total_bytes = 0;
}

absl::StatusOr<std::unique_ptr<RawLmdb>> RawLmdb::Open(const std::string& dir, bool sync) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ec.message()));
  std::unique_ptr<RawLmdb> raw(new RawLmdb());
  int rc = mdb_env_create(&raw->env_);
  if (rc != 0) return LmdbError(rc, "env_create");
  mdb_env_set_maxdbs(raw->env_, 4);
  mdb_env_set_mapsize(raw->env_, size_t{16} << 30);
  rc = mdb_env_open(raw->env_, dir.c_str(), MDB_NOTLS | (sync ? 0 : MDB_NOSYNC), 0644);
  if (rc != 0) return LmdbError(rc, "env_open");
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(raw->env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbError(rc, "txn_begin");
  rc = mdb_dbi_open(txn, "events", MDB_CREATE, &raw->events_);
  if (rc == 0) rc = mdb_dbi_open(txn, "by_hash", MDB_CREATE, &raw->by_hash_);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return LmdbError(rc, "dbi_open");
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbError(rc, "commit");
  return raw;
}

RawLmdb::~RawLmdb() {
  if (env_ != nullptr) mdb_env_close(env_);
}

absl::Status RawLmdb::Append(absl::Span<const log::Hash> hashes,
                             absl::Span<const std::string> bytes, bool index) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbError(rc, "txn_begin");
  uint64_t pos = next_position_;
  for (size_t i = 0; i < bytes.size(); ++i, ++pos) {
    char key_buf[8];
    PutU64BE(pos, key_buf);
    MDB_val key = Val(key_buf, sizeof key_buf);
    MDB_val value = Val(nullptr, log::format::kHashSize + bytes[i].size());
    rc = mdb_put(txn, events_, &key, &value, MDB_APPEND | MDB_RESERVE);
    if (rc == 0) {
      char* out = static_cast<char*>(value.mv_data);
      std::memcpy(out, hashes[i].data(), log::format::kHashSize);
      std::memcpy(out + log::format::kHashSize, bytes[i].data(), bytes[i].size());
      if (index) {
        MDB_val hkey = Val(hashes[i].data(), log::format::kHashSize);
        MDB_val hval = Val(key_buf, sizeof key_buf);
        rc = mdb_put(txn, by_hash_, &hkey, &hval, 0);
      }
    }
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError(rc, "put");
    }
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbError(rc, "commit");
  next_position_ = pos;
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawLmdb::Get(const log::Hash& hash) const {
  ReadTxn txn(env_);
  if (txn.rc() != 0) return LmdbError(txn.rc(), "txn_begin");
  MDB_val key = Val(hash.data(), hash.size());
  MDB_val pos;
  int rc = mdb_get(txn.get(), by_hash_, &key, &pos);
  if (rc != 0) return LmdbError(rc, "get by_hash");
  MDB_val value;
  rc = mdb_get(txn.get(), events_, &pos, &value);
  if (rc != 0) return LmdbError(rc, "get events");
  return std::string(static_cast<const char*>(value.mv_data) + log::format::kHashSize,
                     value.mv_size - log::format::kHashSize);
}

absl::StatusOr<std::string> RawLmdb::GetByPrefix(std::string_view prefix) const {
  ReadTxn txn(env_);
  if (txn.rc() != 0) return LmdbError(txn.rc(), "txn_begin");
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn.get(), by_hash_, &cur);
  if (rc != 0) return LmdbError(rc, "cursor_open");
  auto matches = [&](const MDB_val& k) {
    return k.mv_size >= prefix.size() && std::memcmp(k.mv_data, prefix.data(), prefix.size()) == 0;
  };
  MDB_val key = Val(prefix.data(), prefix.size());
  MDB_val pos;
  rc = mdb_cursor_get(cur, &key, &pos, MDB_SET_RANGE);
  if (rc != 0 || !matches(key)) {
    mdb_cursor_close(cur);
    return absl::NotFoundError("no event with that prefix");
  }
  MDB_val found_pos = pos;
  MDB_val next_key, next_pos;
  rc = mdb_cursor_get(cur, &next_key, &next_pos, MDB_NEXT);
  const bool ambiguous = rc == 0 && matches(next_key);
  mdb_cursor_close(cur);
  if (ambiguous) return absl::InvalidArgumentError("ambiguous prefix");
  MDB_val value;
  rc = mdb_get(txn.get(), events_, &found_pos, &value);
  if (rc != 0) return LmdbError(rc, "get events");
  return std::string(static_cast<const char*>(value.mv_data) + log::format::kHashSize,
                     value.mv_size - log::format::kHashSize);
}

absl::StatusOr<std::vector<std::string>> RawLmdb::ReadFrom(uint64_t from) const {
  ReadTxn txn(env_);
  if (txn.rc() != 0) return LmdbError(txn.rc(), "txn_begin");
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn.get(), events_, &cur);
  if (rc != 0) return LmdbError(rc, "cursor_open");
  std::vector<std::string> out;
  char key_buf[8];
  PutU64BE(from, key_buf);
  MDB_val key = Val(key_buf, sizeof key_buf);
  MDB_val value;
  for (rc = mdb_cursor_get(cur, &key, &value, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &key, &value, MDB_NEXT)) {
    out.emplace_back(static_cast<const char*>(value.mv_data) + log::format::kHashSize,
                     value.mv_size - log::format::kHashSize);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return LmdbError(rc, "cursor_get");
  return out;
}

absl::StatusOr<uint64_t> RawLmdb::HashAll() const {
  ReadTxn txn(env_);
  if (txn.rc() != 0) return LmdbError(txn.rc(), "txn_begin");
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn.get(), events_, &cur);
  if (rc != 0) return LmdbError(rc, "cursor_open");
  RawSha256 sha;
  uint64_t bytes = 0;
  MDB_val key, value;
  for (rc = mdb_cursor_get(cur, &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &key, &value, MDB_NEXT)) {
    const char* data = static_cast<const char*>(value.mv_data);
    std::string_view body(data + log::format::kHashSize, value.mv_size - log::format::kHashSize);
    const log::Hash h = sha.Digest(body);
    if (std::memcmp(h.data(), data, h.size()) != 0) {
      mdb_cursor_close(cur);
      return absl::DataLossError("raw lmdb: event does not hash to its id");
    }
    bytes += body.size();
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return LmdbError(rc, "cursor_get");
  return bytes;
}

struct RawSha256::Impl {
  EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
};

RawSha256::RawSha256() : impl_(std::make_unique<Impl>()) {
  impl_->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  impl_->ctx = EVP_MD_CTX_new();
}

RawSha256::~RawSha256() {
  EVP_MD_CTX_free(impl_->ctx);
  EVP_MD_free(impl_->md);
}

log::Hash RawSha256::Digest(std::string_view bytes) {
  log::Hash h{};
  unsigned int len = 0;
  EVP_DigestInit_ex(impl_->ctx, impl_->md, nullptr);
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
  EVP_DigestFinal_ex(impl_->ctx, h.data(), &len);
  return h;
}

void VsBaseline::Report(benchmark::State& state, double units, const char* base_rate_name) const {
  if (base_s <= 0 || crlog_s <= 0) return;
  state.counters["x_baseline"] = crlog_s / base_s;
  state.counters[base_rate_name] = units / base_s;
}

std::unique_ptr<log::LogStore> OpenStoreOrSkip(benchmark::State& state, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<log::LogStore>> store = log::LogStore::Open(dir);
  if (!store.ok()) {
    OkOrSkip(state, store.status(), "LogStore::Open");
    return nullptr;
  }
  return std::move(*store);
}

bool OkOrSkip(benchmark::State& state, const absl::Status& status, std::string_view what) {
  if (status.ok()) return true;
  // Kept alive past the call whatever the library does with the pointer.
  static thread_local std::string message;
  message = absl::StrCat(std::string(what), ": ", status.ToString());
  state.SkipWithError(message.c_str());
  return false;
}

}  // namespace crlog::bench
