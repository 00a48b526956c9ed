// Verify: re-derives everything the log claims from its bytes alone, in
// arrival order, and names the first fault.
#include "log/verify.h"

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "util/strings.h"
#include "log/lmdb_env.h"

namespace crlog::log {
namespace {

absl::Status Fault(const Hash& hash, uint64_t position, std::string_view what) {
  return absl::DataLossError(
      absl::StrCat("event ", ToHex(hash), " at position ", position, ": ", Sv(what)));
}

// Checks every entry of an index database that maps to positions: each must
// name an event that exists.
absl::Status CheckIndex(const ReadTxn& txn, const LogStore::Env& env, MDB_dbi dbi,
                        const char* name, uint64_t expected) {
  MDB_stat st;
  int rc = mdb_stat(txn.get(), dbi, &st);
  if (rc != 0) return LmdbError(rc, env, "verifying");
  if (st.ms_entries == expected) return absl::OkStatus();
  MDB_cursor* cursor;
  rc = mdb_cursor_open(txn.get(), dbi, &cursor);
  if (rc != 0) return LmdbError(rc, env, "verifying");
  MDB_val k, v;
  std::string fault = absl::StrCat("index '", name, "' has ", st.ms_entries,
                                   " entries for ", expected, " events");
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    PositionKey key(DecodeU64(View(v)));
    MDB_val ek = key.val(), ev;
    if (mdb_get(txn.get(), env.events, &ek, &ev) != 0) {
      fault = absl::StrCat("index '", name, "' names ", ToHex(View(k)), " at position ",
                           DecodeU64(View(v)), " but no event is stored there (removed?)");
      break;
    }
  }
  mdb_cursor_close(cursor);
  return absl::DataLossError(fault);
}

}  // namespace

absl::StatusOr<VerifyReport> Verify(const LogStore& store, const VerifyProgress& progress,
                                    const TrustedKeys& trusted) {
  const LogStore::Env& env = store.env();
  ReadTxn txn(env);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;

  MDB_stat st;
  int rc = mdb_stat(txn.get(), env.events, &st);
  if (rc != 0) return LmdbError(rc, env, "verifying");
  uint64_t stored_events = st.ms_entries;

  VerifyReport report;
  struct Seen {
    uint64_t position;
    uint64_t lamport;
  };
  absl::flat_hash_map<Hash, Seen> seen;
  absl::flat_hash_map<SiteId, uint64_t> last_seq;
  absl::flat_hash_set<Hash> named_as_parent;
  uint64_t native = 0;

  MDB_cursor* cursor;
  rc = mdb_cursor_open(txn.get(), env.events, &cursor);
  if (rc != 0) return LmdbError(rc, env, "verifying");
  MDB_val k, v;
  absl::Status fault;
  uint64_t total = stored_events;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0 && fault.ok();
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    uint64_t position = DecodeU64(View(k));
    bool pending = txn.IsPending(position);
    if (v.mv_size < format::kEventValueHeader) {
      fault = absl::DataLossError(absl::StrCat("the event at position ", position, " is truncated"));
      break;
    }
    Hash hash = ToArray<32>(View(v));
    std::string_view bytes = View(v).substr(format::kEventValueHeader);
    if (Hash actual = Sha256(bytes); actual != hash) {
      fault = Fault(hash, position,
                    absl::StrCat("its bytes hash to ", ToHex(actual), ": the event was altered"));
      break;
    }
    MDB_val hk = Val(hash.data(), hash.size()), hv;
    if (mdb_get(txn.get(), env.by_hash, &hk, &hv) != 0 || DecodeU64(View(hv)) != position) {
      fault = Fault(hash, position, "the id index does not point at it");
      break;
    }
    auto event = DecodeEvent(bytes, DecodeLimits{SIZE_MAX});
    if (!event.ok()) {
      fault = Fault(hash, position, Sv(event.status().message()));
      break;
    }
    uint64_t max_parent = 0;
    for (const Hash& parent : event->parents) {
      auto it = seen.find(parent);
      if (it == seen.end()) {
        MDB_val pk = Val(parent.data(), parent.size()), pv;
        fault = Fault(hash, position,
                      mdb_get(txn.get(), env.by_hash, &pk, &pv) == 0
                          ? absl::StrCat("parent ", ToHex(parent), " is stored after its child")
                          : absl::StrCat("parent ", ToHex(parent),
                                         " is missing from the log (removed?)"));
        break;
      }
      max_parent = std::max(max_parent, it->second.lamport);
      if (!pending) named_as_parent.insert(parent);
    }
    if (!fault.ok()) break;
    if (event->lamport != max_parent + 1) {
      fault = Fault(hash, position,
                    absl::StrCat("lamport is ", event->lamport, " but its parents make it ",
                                 max_parent + 1));
      break;
    }
    if (event->is_native()) {
      ++native;
      uint64_t& last = last_seq[event->site];
      if (event->seq != last + 1) {
        fault = Fault(hash, position,
                      absl::StrCat("site ", ToHex(event->site), " jumps from seq ", last,
                                   " to seq ", event->seq, ": events are missing"));
        break;
      }
      last = event->seq;
      SiteSeqKey skey(event->site, event->seq);
      MDB_val sk = skey.val(), sv;
      if (mdb_get(txn.get(), env.by_site, &sk, &sv) != 0 || DecodeU64(View(sv)) != position) {
        fault = Fault(hash, position, "the (site, seq) index does not point at it");
        break;
      }
      if (auto key = trusted.find(event->site); key != trusted.end()) {
        if (event->signature.empty()) {
          if (event->seq >= key->second.signs_from_seq) {
            fault = absl::DataLossError(absl::StrCat(
                "event ", ToHex(hash), " (site ", ToHex(event->site), ", seq ", event->seq,
                ", position ", position, ") is unsigned but site ", ToHex(event->site),
                " signs its events from seq ", key->second.signs_from_seq,
                " on (its key is trusted here): it was not written with the site's key"));
            break;
          }
        } else {
          fault = CheckSignature(bytes, *event, key->second.key);
          if (!fault.ok()) break;
          if (!pending) ++report.signed_checked;
        }
      } else if (!event->signature.empty() && !pending) {
        ++report.signed_unknown;
      }
    }
    seen[hash] = Seen{position, event->lamport};
    if (pending) continue;
    ++report.events;
    report.ops += event->CountOps();
    report.bytes += bytes.size();
    if (progress && report.events % 1024 == 0) progress(report.events, total);
  }
  mdb_cursor_close(cursor);
  if (!fault.ok()) return fault;
  if (rc != MDB_NOTFOUND) return LmdbError(rc, env, "verifying");
  report.sites = last_seq.size();

  if (absl::Status s = CheckIndex(txn, env, env.by_hash, format::kByHashDb, stored_events); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckIndex(txn, env, env.by_site, format::kBySiteDb, native); !s.ok()) {
    return s;
  }

  // Heads: published events no published event names as a parent.
  absl::flat_hash_set<Hash> expected_heads;
  for (const auto& [hash, info] : seen) {
    if (!txn.IsPending(info.position) && !named_as_parent.contains(hash)) expected_heads.insert(hash);
  }
  rc = mdb_cursor_open(txn.get(), env.heads, &cursor);
  if (rc != 0) return LmdbError(rc, env, "verifying");
  uint64_t heads = 0;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0 && fault.ok();
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    ++heads;
    if (!expected_heads.contains(ToArray<32>(View(k)))) {
      fault = absl::DataLossError(absl::StrCat("the heads list names ", ToHex(View(k)),
                                               ", which is not a head of the log"));
    }
  }
  mdb_cursor_close(cursor);
  if (!fault.ok()) return fault;
  if (heads != expected_heads.size()) {
    return absl::DataLossError(absl::StrCat("the heads list has ", heads, " entries but the log has ",
                                            expected_heads.size(), " heads"));
  }
  if (progress) progress(report.events, total);
  return report;
}

}  // namespace crlog::log
