// A point in a replica's history: the set of events a user means by "the
// database as it stood at ...". Replay, diff and the SQL time-travel
// functions all take one.
//
// A point is written as one of:
//   head                   everything this database has materialised
//   <hex>                  an event id, or an unambiguous prefix (>= 4 digits)
//   <site hex>:<seq>       a site's seq-th event (the site as a full id or an
//                          unambiguous prefix of one the log knows)
//   <time>                 what this replica had received by then: 2026-11-22,
//                          2026-11-22T07:00:00Z (RFC 3339, any offset), or
//                          @1763794800 (Unix seconds)
// An event point means the event and its whole causal past. A time point
// means every event stored by then; arrival order puts parents first, so
// that set is causally closed too. An import (changes taken in from a
// history-free peer) has no parents, so an import point means everything
// this log had stored when the import arrived.
#ifndef CRLOG_ENGINE_HISTORY_POINT_H_
#define CRLOG_ENGINE_HISTORY_POINT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "log/hash.h"
#include "log/store.h"

namespace crlog::engine {

struct Point {
  std::string text;  // as written, for messages
  // The events named: the past of `heads`, heads included...
  std::vector<log::Hash> heads;
  // ...or, when set, every published event at a position <= this.
  std::optional<uint64_t> up_to_position;
  // Whose schema the replayed tables follow: a native event point's site,
  // else this replica's. (A site's tables are the ones it replicated itself;
  // its schema changes are in its own chain, so in the point's past.)
  log::SiteId schema_site{};
};

// Resolves `text` against `store`. `local_site` is this replica's site and
// `materialised_heads` its crlog_heads (what "head" means). InvalidArgument
// for text that is no point at all or an ambiguous prefix; NotFound, naming
// the text, for a point that names nothing (an unknown id, a seq the site
// never reached, a time before the first event arrived).
absl::StatusOr<Point> ResolvePoint(const log::LogStore& store, const log::SiteId& local_site,
                                   const std::vector<log::Hash>& materialised_heads, std::string_view text);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_HISTORY_POINT_H_
