// LogStore's walks of the DAG from events to their parents (log/store.h,
// "DAG walks"): what a peer lacks, the past of a set of heads, and whether
// one event is in another's past.
#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "log/store_internal.h"

namespace crlog::log {

namespace {

struct Node {
  uint64_t position;
  EventHeader header;
};

absl::StatusOr<Node> LoadNode(const ReadTxn& txn, const LogStore::Env& env, const Hash& hash) {
  auto pos = PositionOf(txn.get(), env, hash);
  if (!pos.ok()) return pos.status();
  if (txn.IsPending(*pos)) {
    return absl::NotFoundError(absl::StrCat("event ", ShortHex(hash), " is not in the log"));
  }
  auto h = HeaderAt(txn.get(), env, *pos);
  if (!h.ok()) return h.status();
  return Node{*pos, *std::move(h)};
}

// Walks backwards from `starts`, visiting each event once; `expand` says
// whether to continue to an event's parents.
template <typename Expand>
absl::Status WalkBack(const ReadTxn& txn, const LogStore::Env& env, absl::Span<const Hash> starts,
                      Expand&& expand) {
  absl::flat_hash_set<Hash> seen;
  std::deque<Hash> queue;
  for (const Hash& h : starts) {
    if (seen.insert(h).second) queue.push_back(h);
  }
  while (!queue.empty()) {
    Hash hash = queue.front();
    queue.pop_front();
    auto node = LoadNode(txn, env, hash);
    if (!node.ok()) return node.status();
    if (!expand(hash, *node)) continue;
    for (const Hash& p : node->header.parents) {
      if (seen.insert(p).second) queue.push_back(p);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<StoredEvent>> LogStore::MissingFor(
    const VersionVector& peer, absl::Span<const Hash> peer_heads) const {
  auto heads = Heads();
  if (!heads.ok()) return heads.status();
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  absl::flat_hash_set<Hash> peer_has(peer_heads.begin(), peer_heads.end());
  std::vector<uint64_t> positions;
  std::vector<Hash> boundary;  // events the walk found the peer has
  absl::flat_hash_map<Hash, uint64_t> missing_imports;
  // The peer's log is causally closed: an event it has brings its whole past,
  // so the walk stops there and costs what the peer lacks.
  absl::Status s = WalkBack(txn, *env_, *heads, [&](const Hash& hash, const Node& node) {
    bool has = peer_has.contains(hash);
    if (!has && node.header.kind != EventKind::kImport) {
      auto it = peer.find(node.header.site);
      has = it != peer.end() && node.header.seq <= it->second;
    }
    if (has) {
      boundary.push_back(hash);
      return false;
    }
    if (node.header.kind == EventKind::kImport) missing_imports[hash] = node.position;
    positions.push_back(node.position);
    return true;
  });
  if (!s.ok()) return s;
  // An import has no site, so the version vector cannot say the peer has it;
  // it may be in the past of an event the peer has even though the walk
  // reached it through one the peer lacks. Walk back from what the peer has,
  // but only over events stored after the oldest such import (nothing older
  // can lead to it).
  if (!missing_imports.empty()) {
    uint64_t oldest = UINT64_MAX;
    for (const auto& [hash, position] : missing_imports) oldest = std::min(oldest, position);
    std::vector<Hash> starts = boundary;
    for (const Hash& h : peer_heads) {
      auto pos = PositionOf(txn.get(), *env_, h);
      if (pos.ok() && !txn.IsPending(*pos)) starts.push_back(h);
    }
    absl::flat_hash_set<uint64_t> peer_past;
    s = WalkBack(txn, *env_, starts, [&](const Hash& hash, const Node& node) {
      if (node.position < oldest) return false;
      if (missing_imports.contains(hash)) peer_past.insert(node.position);
      return true;
    });
    if (!s.ok()) return s;
    positions.erase(std::remove_if(positions.begin(), positions.end(),
                                   [&](uint64_t p) { return peer_past.contains(p); }),
                    positions.end());
  }
  std::sort(positions.begin(), positions.end());
  std::vector<StoredEvent> out;
  out.reserve(positions.size());
  for (uint64_t p : positions) {
    auto e = ReadEventAt(txn.get(), *env_, p);
    if (!e.ok()) return e.status();
    out.push_back(*std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<Hash>> LogStore::Ancestors(absl::Span<const Hash> heads) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  std::vector<std::pair<uint64_t, Hash>> found;
  absl::Status s = WalkBack(txn, *env_, heads, [&](const Hash& hash, const Node& node) {
    found.emplace_back(node.position, hash);
    return true;
  });
  if (!s.ok()) return s;
  std::sort(found.begin(), found.end());
  std::vector<Hash> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(f.second);
  return out;
}

absl::StatusOr<bool> LogStore::IsAncestor(const Hash& ancestor, const Hash& descendant) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto target = LoadNode(txn, *env_, ancestor);
  if (!target.ok()) return target.status();
  bool found = false;
  // Lamport only grows along parent links, so nothing at or below the
  // target's lamport (other than the target) can lead to it.
  absl::Status s = WalkBack(txn, *env_, absl::MakeConstSpan(&descendant, 1),
                            [&](const Hash& hash, const Node& node) {
                              if (hash == ancestor) found = true;
                              return !found && node.header.lamport > target->header.lamport;
                            });
  if (!s.ok()) return s;
  return found;
}

}  // namespace crlog::log
