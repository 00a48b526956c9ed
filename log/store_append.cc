// LogStore's writes of events (log/store.h, "Writing"): appending published
// or pending events, publishing and discarding pending ones. Appends decode
// and check every event before the write transaction begins, then check
// what needs the log (seq chain, parents, lamport, groups) inside it; any
// failure aborts the transaction, so the store is unchanged.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "log/hash.h"
#include "log/store_internal.h"

namespace crlog::log {
namespace {

std::string Describe(const Hash& hash, const EventHeader& h) {
  if (h.kind == EventKind::kImport) return absl::StrCat("import event ", ShortHex(hash));
  return absl::StrCat("event ", ShortHex(hash), " (site ", ToHex(h.site), " seq ", h.seq, ")");
}

bool IsPendingIn(MDB_txn* txn, const LogStore::Env& env, uint64_t position) {
  PositionKey key(position);
  MDB_val k = key.val(), v;
  return mdb_get(txn, env.pending, &k, &v) == 0;
}

// The event `self` becomes a head and its parents stop being heads. `self`
// goes in before the parents come out: deleting the last head first would
// empty the heads tree, and LMDB frees an emptied root page to the next
// transaction, not this one, so every event of a batch took a fresh page and
// a batch of 100,000 one-op events wrote ten times the bytes it stored
// (docs/architecture.md, "Speed").
int AdvanceHeadsInTxn(MDB_txn* txn, const LogStore::Env& env, MDB_val self, absl::Span<const Hash> parents) {
  MDB_val empty = Val("", 0);
  int rc = mdb_put(txn, env.heads, &self, &empty, 0);
  for (const Hash& parent : parents) {
    if (rc != 0) break;
    MDB_val ph = Val(parent.data(), parent.size());
    rc = mdb_del(txn, env.heads, &ph, nullptr);
    if (rc == MDB_NOTFOUND) rc = 0;
  }
  return rc;
}
// An event of a batch, decoded and hashed before the write transaction.
struct Candidate {
  std::string_view bytes;
  Hash hash{};
  EventHeader header;
};

// Checks and stores `events` inside `txn`. With `pending`, events are marked
// pending and heads are left alone.
absl::StatusOr<std::vector<AppendResult>> AppendInTxn(MDB_txn* txn, LogStore::Env& env,
                                                      std::vector<Candidate>& batch,
                                                      bool pending) {
  std::vector<AppendResult> results(batch.size());
  // Lamport of events written earlier in this batch, and which of them are
  // new (so a pending parent from this batch is acceptable).
  absl::flat_hash_map<Hash, uint64_t> batch_lamport;

  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, env.events, &cursor);
  if (rc != 0) return LmdbError(rc, env, "appending");
  MDB_val lk, lv;
  rc = mdb_cursor_get(cursor, &lk, &lv, MDB_LAST);
  uint64_t next_position = rc == 0 ? DecodeU64(View(lk)) + 1 : 1;
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "appending");

  // Arrival times never go back, even when the clock does, so "what had
  // arrived by time T" is always a prefix of the log (causally closed).
  int64_t arrival_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  rc = mdb_cursor_open(txn, env.arrivals, &cursor);
  if (rc != 0) return LmdbError(rc, env, "appending");
  rc = mdb_cursor_get(cursor, &lk, &lv, MDB_LAST);
  if (rc == 0 && lv.mv_size == 8) {
    arrival_micros = std::max(arrival_micros, static_cast<int64_t>(DecodeU64(View(lv))));
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "appending");

  // Groups met in this batch: first member's id -> members seen.
  absl::flat_hash_map<Hash, std::vector<uint32_t>> groups;
  absl::flat_hash_map<Hash, uint32_t> group_counts;

  for (size_t i = 0; i < batch.size(); ++i) {
    Candidate& c = batch[i];
    const EventHeader& h = c.header;
    results[i].hash = c.hash;
    // The id is indexed first, under the position the event will take: one
    // descent of by_hash both finds an event already there and claims the
    // id. A check below that fails aborts the transaction, index included.
    const uint64_t position = next_position;
    PositionKey pkey(position);
    MDB_val hk = Val(c.hash.data(), c.hash.size()), pv = pkey.val();
    rc = mdb_put(txn, env.by_hash, &hk, &pv, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      if (pv.mv_size != 8) {
        return absl::DataLossError(absl::StrCat("the log's index of event ids is damaged at ", ShortHex(c.hash),
                                                "; run `crlog verify`"));
      }
      results[i].position = DecodeU64(View(pv));
      results[i].already_present = true;
      continue;
    }
    if (rc != 0) return LmdbError(rc, env, "indexing an event");

    if (h.kind != EventKind::kImport) {
      SiteSeqKey key(h.site, h.seq);
      MDB_val k = key.val(), v;
      rc = mdb_get(txn, env.by_site, &k, &v);
      if (rc == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            Describe(c.hash, h), " claims a place its site already holds with another event: "
            "two replicas are writing as one site, probably because a database file was copied; "
            "give the copy a new site id"));
      }
      auto last = LastSeq(txn, env, h.site);
      if (!last.ok()) return last.status();
      if (h.seq != *last + 1) {
        return absl::FailedPreconditionError(absl::StrCat(
            Describe(c.hash, h), " does not follow its site's last seq ", *last,
            ": seq must be ", *last + 1, " (send or append the missing events first)"));
      }
    }
    uint64_t max_parent_lamport = 0;
    for (const Hash& parent : h.parents) {
      uint64_t lamport;
      if (auto it = batch_lamport.find(parent); it != batch_lamport.end()) {
        lamport = it->second;
      } else {
        auto found = FindPosition(txn, env, parent);
        if (!found.ok()) return found.status();
        if (!found->has_value()) {
          return absl::FailedPreconditionError(
              absl::StrCat(Describe(c.hash, h), " names parent ", ToHex(parent),
                           " which is not in the log: append its parents first"));
        }
        const uint64_t* pos = &**found;
        // A pending event may build on a pending parent (a transaction that
        // applied remote events and then wrote): they commit together, and
        // recovery publishes a parent with its child. A published one may not.
        if (!pending && IsPendingIn(txn, env, *pos)) {
          return absl::FailedPreconditionError(
              absl::StrCat(Describe(c.hash, h), " names parent ", ShortHex(parent),
                           " which is pending (not yet committed)"));
        }
        auto ph = HeaderAt(txn, env, *pos);
        if (!ph.ok()) return ph.status();
        lamport = ph->lamport;
      }
      max_parent_lamport = std::max(max_parent_lamport, lamport);
    }
    if (h.lamport != max_parent_lamport + 1) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(c.hash, h), " has lamport ",
                                                     h.lamport, " but its parents make it ",
                                                     max_parent_lamport + 1));
    }
    if (h.group.grouped()) {
      Hash first = h.group.index == 0 ? c.hash : h.group.first;
      groups[first].push_back(h.group.index);
      auto [it, inserted] = group_counts.emplace(first, h.group.count);
      if (!inserted && it->second != h.group.count) {
        return absl::InvalidArgumentError(absl::StrCat(Describe(c.hash, h),
                                                       " disagrees with its group on the count"));
      }
    }

    // Store it.
    ++next_position;
    MDB_val k = pkey.val(), v;
    v.mv_size = format::kEventValueHeader + c.bytes.size();
    v.mv_data = nullptr;
    rc = mdb_put(txn, env.events, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc != 0) return LmdbError(rc, env, "appending an event");
    std::memcpy(v.mv_data, c.hash.data(), format::kHashSize);
    std::memcpy(static_cast<char*>(v.mv_data) + format::kEventValueHeader, c.bytes.data(),
                c.bytes.size());
    pv = pkey.val();
    if (h.kind != EventKind::kImport) {
      SiteSeqKey skey(h.site, h.seq);
      MDB_val sk = skey.val();
      rc = mdb_put(txn, env.by_site, &sk, &pv, MDB_NOOVERWRITE);
    }
    if (rc == 0) {
      PositionKey arrived(static_cast<uint64_t>(arrival_micros));
      MDB_val av = arrived.val();
      rc = mdb_put(txn, env.arrivals, &k, &av, MDB_APPEND);
    }
    if (rc == 0 && pending) {
      MDB_val hv = Val(c.hash.data(), c.hash.size());
      rc = mdb_put(txn, env.pending, &k, &hv, 0);
    }
    if (rc == 0 && !pending) rc = AdvanceHeadsInTxn(txn, env, hk, h.parents);
    if (rc != 0) return LmdbError(rc, env, "indexing an event");
    batch_lamport[c.hash] = h.lamport;
    results[i].position = position;
  }

  // A group is stored whole or not at all.
  for (auto& [first, members] : groups) {
    uint32_t count = group_counts[first];
    std::sort(members.begin(), members.end());
    bool complete = members.size() == count;
    for (uint32_t j = 0; complete && j < count; ++j) complete = members[j] == j;
    if (!complete) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event group ", ShortHex(first), " has ", count, " members but ", members.size(),
          " arrived (or an index repeats): a group must be appended whole, in one batch"));
    }
  }
  return results;
}

// Checks `batch` against the log and stores it in one write transaction.
absl::StatusOr<std::vector<AppendResult>> AppendBatch(LogStore::Env& env, std::vector<Candidate>& batch,
                                                      Durability durability, bool pending) {
  std::vector<AppendResult> results;
  absl::Status s = WriteTxn(env, durability, "appending events", [&](MDB_txn* txn) {
    auto r = AppendInTxn(txn, env, batch, pending);
    if (!r.ok()) return r.status();
    results = *std::move(r);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return results;
}

absl::StatusOr<std::vector<AppendResult>> AppendEvents(LogStore& store, LogStore::Env& env,
                                                       absl::Span<const std::string> events,
                                                       Durability durability, bool pending) {
  if (absl::Status s = RefuseIfReadOnly(store, "append events"); !s.ok()) return s;
  // CPU work first, outside the writer lock: decode, check, hash.
  std::vector<Candidate> batch(events.size());
  DecodeLimits limits{store.options().max_event_bytes};
  for (size_t i = 0; i < events.size(); ++i) {
    auto decoded = DecodeEvent(events[i], limits);
    if (!decoded.ok()) {
      return absl::Status(decoded.status().code(),
                          absl::StrCat("event ", i + 1, " of ", events.size(), " refused: ",
                                       decoded.status().message()));
    }
    Candidate& c = batch[i];
    c.bytes = events[i];
    c.hash = Sha256(events[i]);
    c.header.kind = decoded->kind;
    c.header.site = decoded->site;
    c.header.seq = decoded->seq;
    c.header.lamport = decoded->lamport;
    c.header.time_micros = decoded->time_micros;
    c.header.parents = std::move(decoded->parents);
    c.header.group = decoded->group;
  }
  return AppendBatch(env, batch, durability, pending);
}

}  // namespace

absl::StatusOr<std::vector<AppendResult>> LogStore::Append(absl::Span<const std::string> events,
                                                           Durability durability) {
  return AppendEvents(*this, *env_, events, durability, /*pending=*/false);
}

absl::StatusOr<AppendResult> LogStore::Append(std::string_view event, Durability durability) {
  std::string copy(event);
  auto r = Append(absl::MakeConstSpan(&copy, 1), durability);
  if (!r.ok()) return r.status();
  return r->front();
}

absl::StatusOr<std::vector<AppendResult>> LogStore::AppendPending(
    absl::Span<const std::string> events, Durability durability) {
  return AppendEvents(*this, *env_, events, durability, /*pending=*/true);
}

absl::StatusOr<std::vector<AppendResult>> LogStore::AppendPendingEncoded(absl::Span<const EncodedEvent> events,
                                                                        Durability durability) {
  if (absl::Status s = RefuseIfReadOnly(*this, "append events"); !s.ok()) return s;
  std::vector<Candidate> batch(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    // EncodeEvent wrote these bytes and their hash, and checked the content
    // and the size: only the header the log checks is read back.
    if (events[i].bytes.size() > options_.max_event_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("event ", i + 1, " of ", events.size(), " is ",
                                                     events[i].bytes.size(), " bytes, over the log's limit of ",
                                                     options_.max_event_bytes));
    }
    auto header = DecodeEventHeader(events[i].bytes, DecodeLimits{options_.max_event_bytes});
    if (!header.ok()) {
      return absl::Status(header.status().code(), absl::StrCat("event ", i + 1, " of ", events.size(),
                                                               " refused: ", header.status().message()));
    }
    batch[i] = Candidate{events[i].bytes, events[i].hash, *std::move(header)};
  }
  return AppendBatch(*env_, batch, durability, /*pending=*/true);
}

absl::Status LogStore::Publish(absl::Span<const Hash> hashes, Durability durability, bool forget_set_aside) {
  if (absl::Status s = RefuseIfReadOnly(*this, "publish events"); !s.ok()) return s;
  return WriteTxn(*env_, durability, "publishing events", [&](MDB_txn* txn) -> absl::Status {
    std::vector<uint64_t> positions;
    for (const Hash& hash : hashes) {
      auto pos = PositionOf(txn, *env_, hash);
      if (!pos.ok()) return pos.status();
      positions.push_back(*pos);
    }
    std::sort(positions.begin(), positions.end());  // parents before children
    for (uint64_t position : positions) {
      PositionKey key(position);
      MDB_val k = key.val();
      int rc = mdb_del(txn, env_->pending, &k, nullptr);
      if (rc == MDB_NOTFOUND) continue;  // already published
      if (rc != 0) return LmdbError(rc, *env_, "publishing an event");
      auto stored = ReadEventAt(txn, *env_, position);
      if (!stored.ok()) return stored.status();
      auto h = DecodeEventHeader(stored->bytes, DecodeLimits{SIZE_MAX});
      if (!h.ok()) return h.status();
      MDB_val hk = Val(stored->hash.data(), stored->hash.size());
      rc = AdvanceHeadsInTxn(txn, *env_, hk, h->parents);
      if (rc != 0) return LmdbError(rc, *env_, "updating heads");
    }
    if (forget_set_aside && env_->has_set_aside) {
      MDB_stat stat;
      int rc = mdb_stat(txn, env_->set_aside, &stat);
      if (rc == 0 && stat.ms_entries > 0) rc = mdb_drop(txn, env_->set_aside, 0);
      if (rc != 0) return LmdbError(rc, *env_, "forgetting events set aside");
    }
    return absl::OkStatus();
  });
}

namespace {

// Removes the pending event `hash` from every index; with `keep_aside`,
// first copies it into the set-aside database (keyed by its position, so
// they list in the order they were stored).
absl::Status DiscardInTxn(MDB_txn* txn, LogStore::Env& env, const Hash& hash, bool keep_aside) {
  auto pos = PositionOf(txn, env, hash);
  if (!pos.ok()) return pos.status();
  PositionKey key(*pos);
  MDB_val k = key.val();
  if (keep_aside) {
    MDB_val v;
    int rc = mdb_get(txn, env.events, &k, &v);
    if (rc != 0) return LmdbError(rc, env, "setting an event aside");
    rc = mdb_put(txn, env.set_aside, &k, &v, 0);
    if (rc != 0) return LmdbError(rc, env, "setting an event aside");
  }
  int rc = mdb_del(txn, env.pending, &k, nullptr);
  if (rc == MDB_NOTFOUND) {
    return absl::FailedPreconditionError(
        absl::StrCat("event ", ShortHex(hash), " is published; only pending events can be discarded"));
  }
  if (rc != 0) return LmdbError(rc, env, "discarding an event");
  auto h = HeaderAt(txn, env, *pos);
  if (!h.ok()) return h.status();
  if (h->kind != EventKind::kImport) {
    SiteSeqKey skey(h->site, h->seq);
    MDB_val sk = skey.val();
    rc = mdb_del(txn, env.by_site, &sk, nullptr);
  }
  MDB_val hk = Val(hash.data(), hash.size());
  if (rc == 0) rc = mdb_del(txn, env.by_hash, &hk, nullptr);
  if (rc == 0) rc = mdb_del(txn, env.events, &k, nullptr);
  if (rc != 0) return LmdbError(rc, env, "discarding an event");
  // Events stored before the log kept arrival times have none.
  rc = mdb_del(txn, env.arrivals, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "discarding an event");
  return absl::OkStatus();
}

// Discard and SetAside: the same removal, with or without keeping the bytes.
absl::Status RemovePending(const LogStore& store, LogStore::Env& env, absl::Span<const Hash> hashes,
                           Durability durability, bool keep_aside) {
  if (absl::Status s = RefuseIfReadOnly(store, keep_aside ? "set events aside" : "discard events"); !s.ok()) {
    return s;
  }
  return WriteTxn(env, durability, keep_aside ? "setting events aside" : "discarding events",
                  [&](MDB_txn* txn) -> absl::Status {
                    for (const Hash& hash : hashes) {
                      if (absl::Status s = DiscardInTxn(txn, env, hash, keep_aside); !s.ok()) return s;
                    }
                    return absl::OkStatus();
                  });
}

}  // namespace

absl::Status LogStore::Discard(absl::Span<const Hash> hashes, Durability durability) {
  return RemovePending(*this, *env_, hashes, durability, /*keep_aside=*/false);
}

absl::Status LogStore::SetAside(absl::Span<const Hash> hashes, Durability durability) {
  return RemovePending(*this, *env_, hashes, durability, /*keep_aside=*/true);
}

absl::StatusOr<std::vector<StoredEvent>> LogStore::SetAsideEvents() const {
  if (!env_->has_set_aside) return std::vector<StoredEvent>{};
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->set_aside, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading events set aside");
  std::vector<StoredEvent> out;
  MDB_val k, v;
  absl::Status status;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    std::string_view value = View(v);
    if (k.mv_size != format::kPositionSize || value.size() < format::kEventValueHeader) {
      status = absl::DataLossError(absl::StrCat("the log at '", env_->path,
                                                "' holds a malformed set-aside entry; run `crlog verify`"));
      break;
    }
    StoredEvent e;
    e.position = DecodeU64(View(k));
    std::memcpy(e.hash.data(), value.data(), format::kHashSize);
    e.bytes = std::string(value.substr(format::kEventValueHeader));
    if (Sha256(e.bytes) != e.hash) {
      status = absl::DataLossError(absl::StrCat("event ", ToHex(e.hash), " set aside in '", env_->path,
                                                "' was altered: its bytes do not hash to its id"));
      break;
    }
    out.push_back(std::move(e));
  }
  mdb_cursor_close(cursor);
  if (!status.ok()) return status;
  return out;
}

absl::Status LogStore::RestoreSetAside(absl::Span<const StoredEvent> events, Durability durability) {
  if (absl::Status s = RefuseIfReadOnly(*this, "restore events set aside"); !s.ok()) return s;
  if (events.empty()) return absl::OkStatus();
  std::vector<std::string> bytes;
  for (const StoredEvent& e : events) bytes.push_back(e.bytes);
  // Stored pending first, then dropped from the side: a crash between the
  // two leaves an event in both, which the next recovery settles the same
  // way (storing a present event again is a no-op).
  auto stored = AppendEvents(*this, *env_, bytes, durability, /*pending=*/true);
  if (!stored.ok()) return stored.status();
  return WriteTxn(*env_, durability, "restoring events set aside", [&](MDB_txn* txn) -> absl::Status {
    for (const StoredEvent& e : events) {
      PositionKey key(e.position);
      MDB_val k = key.val();
      int rc = mdb_del(txn, env_->set_aside, &k, nullptr);
      if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "restoring an event set aside");
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<StoredEvent>> LogStore::PendingEvents() const {
  auto scan = [&](MDB_txn* txn) -> absl::StatusOr<std::vector<StoredEvent>> {
    MDB_cursor* cursor;
    int rc = mdb_cursor_open(txn, env_->pending, &cursor);
    if (rc != 0) return LmdbError(rc, *env_, "reading pending events");
    std::vector<StoredEvent> out;
    MDB_val k, v;
    absl::Status status;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      auto e = ReadEventAt(txn, *env_, DecodeU64(View(k)));
      if (!e.ok()) {
        status = e.status();
        break;
      }
      out.push_back(*std::move(e));
    }
    mdb_cursor_close(cursor);
    if (!status.ok()) return status;
    return out;
  };
  if (env_->read_only) {
    ReadTxn txn(*env_);
    if (absl::Status s = txn.Begin(); !s.ok()) return s;
    return scan(txn.get());
  }
  // A writer killed inside mdb_txn_commit, after it wrote the new meta page
  // but before it advanced the lock file's txnid, leaves a commit that read
  // transactions do not see until the next write transaction adopts it
  // (LMDB's dead-owner recovery of the writer mutex). Recovery decides from
  // this list what to discard, so it reads it as a writer: an event a killed
  // writer stored is never missed here and then found taking its seq.
  absl::StatusOr<std::vector<StoredEvent>> out;
  absl::Status s = WriteTxn(*env_, Durability::kNoSync, "reading pending events", [&](MDB_txn* txn) {
    out = scan(txn);
    return out.status();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace crlog::log
