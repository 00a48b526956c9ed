// LogStore's reads (log/store.h, "Reading"): events by id, id prefix and
// site and seq, scans in arrival order, arrival times, heads, version
// vectors, the clocks a new event needs, and statistics; and the lookups
// inside a transaction that the writes and DAG walks share
// (log/store_internal.h). Readers see published events only.
#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "log/store_internal.h"

namespace crlog::log {

// ---------------------------------------------------------------------------
// Lookups inside a transaction (their contracts: log/store_internal.h)

absl::StatusOr<StoredEvent> ReadEventAt(MDB_txn* txn, const LogStore::Env& env,
                                        uint64_t position) {
  PositionKey key(position);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn, env.events, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return absl::DataLossError(absl::StrCat("the log at '", env.path, "' indexes position ",
                                            position, " but holds no event there"));
  }
  if (rc != 0) return LmdbError(rc, env, "reading an event");
  if (v.mv_size < format::kEventValueHeader) {
    return absl::DataLossError(absl::StrCat("the event at position ", position, " is truncated"));
  }
  StoredEvent out;
  out.position = position;
  std::memcpy(out.hash.data(), v.mv_data, format::kHashSize);
  out.bytes.assign(static_cast<const char*>(v.mv_data) + format::kEventValueHeader,
                   v.mv_size - format::kEventValueHeader);
  if (absl::Status s = env.CheckIntact(position, out.hash, out.bytes); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<uint64_t>> FindPosition(MDB_txn* txn, const LogStore::Env& env,
                                                     const Hash& hash) {
  MDB_val k = Val(hash.data(), hash.size()), v;
  int rc = mdb_get(txn, env.by_hash, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, env, "looking up an event");
  if (v.mv_size != 8) return absl::DataLossError("a by_hash entry is not 8 bytes");
  return DecodeU64(View(v));
}

absl::StatusOr<uint64_t> PositionOf(MDB_txn* txn, const LogStore::Env& env, const Hash& hash) {
  auto pos = FindPosition(txn, env, hash);
  if (!pos.ok()) return pos.status();
  if (!pos->has_value()) {
    return absl::NotFoundError(absl::StrCat("event ", ShortHex(hash), " is not in the log"));
  }
  return **pos;
}

absl::StatusOr<EventHeader> HeaderAt(MDB_txn* txn, const LogStore::Env& env, uint64_t position) {
  PositionKey key(position);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn, env.events, &k, &v);
  if (rc != 0) {
    return rc == MDB_NOTFOUND
               ? absl::DataLossError(absl::StrCat("no event at indexed position ", position))
               : LmdbError(rc, env, "reading an event");
  }
  if (v.mv_size < format::kEventValueHeader) return absl::DataLossError("truncated event");
  std::string_view bytes = View(v).substr(format::kEventValueHeader);
  return DecodeEventHeader(bytes, DecodeLimits{SIZE_MAX});
}

absl::StatusOr<uint64_t> LastSeq(MDB_txn* txn, const LogStore::Env& env, const SiteId& site) {
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, env.by_site, &cursor);
  if (rc != 0) return LmdbError(rc, env, "reading the seq index");
  SiteSeqKey probe(site, UINT64_MAX);
  MDB_val k = probe.val(), v;
  rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  if (rc == 0) rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
  else if (rc == MDB_NOTFOUND) rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
  uint64_t last = 0;
  if (rc == 0 && k.mv_size == format::kBySiteKeySize &&
      std::memcmp(k.mv_data, site.data(), format::kSiteSize) == 0) {
    last = DecodeU64(View(k).substr(format::kSiteSize));
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "reading the seq index");
  return last;
}

// ---------------------------------------------------------------------------
// Reading

absl::StatusOr<StoredEvent> LogStore::Get(const Hash& hash) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto pos = PositionOf(txn.get(), *env_, hash);
  if (!pos.ok()) return pos.status();
  if (txn.IsPending(*pos)) {
    return absl::NotFoundError(absl::StrCat("event ", ShortHex(hash), " is not in the log"));
  }
  return ReadEventAt(txn.get(), *env_, *pos);
}

absl::StatusOr<StoredEvent> LogStore::GetIncludingPending(const Hash& hash) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto pos = PositionOf(txn.get(), *env_, hash);
  if (!pos.ok()) return pos.status();
  return ReadEventAt(txn.get(), *env_, *pos);
}

absl::StatusOr<bool> LogStore::Contains(const Hash& hash) const {
  auto e = Get(hash);
  if (e.ok()) return true;
  if (absl::IsNotFound(e.status())) return false;
  return e.status();
}

absl::StatusOr<StoredEvent> LogStore::GetByPrefix(std::string_view hex) const {
  if (hex.size() < 4 || hex.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an event id prefix is 4 to 64 hex digits; '", Sv(hex), "' has ", hex.size()));
  }
  std::string prefix;  // whole bytes of the prefix
  for (size_t i = 0; i + 1 < hex.size() + 1; i += 2) {
    int hi = HexDigit(hex[i]);
    int lo = i + 1 < hex.size() ? HexDigit(hex[i + 1]) : 0;
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Sv(hex), "' is not a hex event id prefix: use only 0-9 and a-f"));
    }
    prefix.push_back(static_cast<char>(hi << 4 | lo));
  }
  bool odd = hex.size() % 2 == 1;
  auto matches = [&](std::string_view key) {
    size_t whole = hex.size() / 2;
    if (key.size() < prefix.size() || key.substr(0, whole) != std::string_view(prefix).substr(0, whole)) {
      return false;
    }
    return !odd || (static_cast<uint8_t>(key[whole]) >> 4) == (static_cast<uint8_t>(prefix[whole]) >> 4);
  };
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->by_hash, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "looking up an id prefix");
  MDB_val k = Val(prefix.data(), prefix.size()), v;
  std::vector<std::pair<Hash, uint64_t>> found;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == 0 && matches(View(k));
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    uint64_t pos = DecodeU64(View(v));
    if (txn.IsPending(pos)) continue;
    found.emplace_back(ToArray<32>(View(k)), pos);
    if (found.size() > 1) break;
  }
  mdb_cursor_close(cursor);
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("no event id starts with '", Sv(hex), "'"));
  }
  if (found.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event id prefix '", Sv(hex), "' is ambiguous: it matches ", ShortHex(found[0].first), " and ",
        ShortHex(found[1].first), "; give more digits"));
  }
  return ReadEventAt(txn.get(), *env_, found[0].second);
}

absl::StatusOr<StoredEvent> LogStore::GetBySiteSeq(const SiteId& site, uint64_t seq) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  SiteSeqKey key(site, seq);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn.get(), env_->by_site, &k, &v);
  if (rc == 0 && txn.IsPending(DecodeU64(View(v)))) rc = MDB_NOTFOUND;
  if (rc == MDB_NOTFOUND) {
    return absl::NotFoundError(absl::StrCat("no event from site ", ToHex(site), " with seq ", seq));
  }
  if (rc != 0) return LmdbError(rc, *env_, "looking up site and seq");
  return ReadEventAt(txn.get(), *env_, DecodeU64(View(v)));
}

namespace {
absl::Status Scan(const LogStore::Env& env, bool newest_first, uint64_t from,
                  const std::function<bool(const StoredEvent&)>& visit) {
  ReadTxn txn(env);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env.events, &cursor);
  if (rc != 0) return LmdbError(rc, env, "scanning the log");
  PositionKey start(from);
  MDB_val k = start.val(), v;
  rc = newest_first ? mdb_cursor_get(cursor, &k, &v, MDB_LAST)
                    : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  absl::Status status;
  for (; rc == 0; rc = mdb_cursor_get(cursor, &k, &v, newest_first ? MDB_PREV : MDB_NEXT)) {
    uint64_t position = DecodeU64(View(k));
    if (txn.IsPending(position)) continue;
    if (v.mv_size < format::kEventValueHeader) {
      status = absl::DataLossError(absl::StrCat("the event at position ", position, " is truncated"));
      break;
    }
    StoredEvent e;
    e.position = position;
    std::memcpy(e.hash.data(), v.mv_data, format::kHashSize);
    e.bytes.assign(static_cast<const char*>(v.mv_data) + format::kEventValueHeader,
                   v.mv_size - format::kEventValueHeader);
    status = env.CheckIntact(position, e.hash, e.bytes);
    if (!status.ok()) break;
    if (!visit(e)) break;
  }
  mdb_cursor_close(cursor);
  if (!status.ok()) return status;
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "scanning the log");
  return absl::OkStatus();
}
}  // namespace

absl::Status LogStore::ForEach(const std::function<bool(const StoredEvent&)>& visit,
                               uint64_t from_position) const {
  return Scan(*env_, false, std::max<uint64_t>(from_position, 1), visit);
}

absl::Status LogStore::ForEachNewestFirst(
    const std::function<bool(const StoredEvent&)>& visit) const {
  return Scan(*env_, true, 0, visit);
}

absl::StatusOr<std::optional<int64_t>> LogStore::ArrivalMicros(uint64_t position) const {
  if (!env_->has_arrivals) return std::nullopt;
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  PositionKey key(position);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn.get(), env_->arrivals, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, *env_, "reading an arrival time");
  if (v.mv_size != 8) {
    return absl::DataLossError(absl::StrCat("the arrival time of position ", position, " in '", env_->path,
                                            "' is damaged"));
  }
  return static_cast<int64_t>(DecodeU64(View(v)));
}

absl::StatusOr<uint64_t> LogStore::PositionArrivedBy(int64_t time_micros) const {
  if (!env_->has_arrivals) {
    return absl::FailedPreconditionError(absl::StrCat("the log at '", env_->path,
                                                      "' keeps no arrival times (it predates them); "
                                                      "name a point by event id or site:seq instead"));
  }
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->arrivals, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading arrival times");
  // Newest first: arrival times never decrease, so the first one at or
  // before the time ends the search.
  uint64_t found = 0;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV)) {
    if (v.mv_size != 8) continue;
    uint64_t position = DecodeU64(View(k));
    if (txn.IsPending(position)) continue;
    if (static_cast<int64_t>(DecodeU64(View(v))) <= time_micros) {
      found = position;
      break;
    }
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "reading arrival times");
  return found;
}

absl::StatusOr<std::vector<Hash>> LogStore::Heads() const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->heads, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading heads");
  std::vector<Hash> heads;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    heads.push_back(ToArray<32>(View(k)));
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "reading heads");
  return heads;
}

absl::StatusOr<VersionVector> LogStore::GetVersionVector() const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->by_site, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading the version vector");
  VersionVector vv;
  MDB_val k, v;
  // One seek per site: jump past the site's last key, step back over its
  // pending events, then jump to the next site.
  rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == 0) {
    SiteId site = ToArray<16>(View(k));
    auto same_site = [&] { return std::memcmp(k.mv_data, site.data(), format::kSiteSize) == 0; };
    SiteSeqKey beyond(site, UINT64_MAX);
    k = beyond.val();
    int next_site = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    rc = mdb_cursor_get(cursor, &k, &v, next_site == 0 ? MDB_PREV : MDB_LAST);
    while (rc == 0 && same_site() && txn.IsPending(DecodeU64(View(v)))) {
      rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
    }
    if (rc == 0 && same_site()) vv[site] = DecodeU64(View(k).substr(format::kSiteSize));
    if (rc != 0 && rc != MDB_NOTFOUND) break;
    if (next_site != 0) {
      rc = next_site;
      break;
    }
    k = beyond.val();
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "reading the version vector");
  return vv;
}

absl::StatusOr<uint64_t> LogStore::NextSeq(const SiteId& site) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto last = LastSeq(txn.get(), *env_, site);
  if (!last.ok()) return last.status();
  return *last + 1;
}

absl::StatusOr<uint64_t> LogStore::LamportAfter(absl::Span<const Hash> parents) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  uint64_t max = 0;
  for (const Hash& p : parents) {
    auto pos = PositionOf(txn.get(), *env_, p);
    if (!pos.ok()) return pos.status();
    auto h = HeaderAt(txn.get(), *env_, *pos);
    if (!h.ok()) return h.status();
    max = std::max(max, h->lamport);
  }
  return max + 1;
}

absl::StatusOr<StoreStats> LogStore::Stats() const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  StoreStats stats;
  MDB_stat st;
  int rc = mdb_stat(txn.get(), env_->pending, &st);
  if (rc != 0) return LmdbError(rc, *env_, "reading statistics");
  stats.pending = st.ms_entries;
  MDB_cursor* cursor;
  rc = mdb_cursor_open(txn.get(), env_->events, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading statistics");
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    if (txn.IsPending(DecodeU64(View(k)))) continue;
    ++stats.events;
    stats.event_bytes += v.mv_size - std::min<size_t>(v.mv_size, format::kEventValueHeader);
  }
  mdb_cursor_close(cursor);
  MDB_envinfo info;
  mdb_env_info(env_->env, &info);
  MDB_stat envstat;
  mdb_env_stat(env_->env, &envstat);
  stats.file_bytes = (info.me_last_pgno + 1) * uint64_t{envstat.ms_psize};
  return stats;
}

}  // namespace crlog::log

namespace crlog {

absl::StatusOr<Event> StoredEvent::Decode() const {
  auto e = DecodeEvent(bytes, DecodeLimits{SIZE_MAX});
  if (!e.ok()) {
    return absl::DataLossError(absl::StrCat("stored event ", ShortHex(hash), " at position ",
                                            position, " does not decode: ", e.status().message()));
  }
  return e;
}

absl::StatusOr<Event> StoredEvent::DecodeTrusted() const {
  auto e = DecodeEvent(bytes, DecodeLimits{SIZE_MAX, /*trusted=*/true});
  if (!e.ok()) {
    return absl::DataLossError(absl::StrCat("stored event ", ShortHex(hash), " at position ",
                                            position, " does not decode: ", e.status().message()));
  }
  return e;
}

}  // namespace crlog
