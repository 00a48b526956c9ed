// Splitting an import too large for one event into an event group.
//
// INSERT INTO crsql_changes records what a transaction accepted as one
// import event (engine/fold/change_merger.h). A sync loop that merges a large
// database in one transaction (20,000 rows of 1 KB) makes an import over the
// log's event limit, which the user cannot split: the members of the group
// this makes are imports too (no site, no parents, every origin listed), the
// rows cut between members in their sorted order, so the same accepted
// changes still give the same bytes anywhere.
#ifndef CRLOG_ENGINE_FOLD_IMPORT_SPLIT_H_
#define CRLOG_ENGINE_FOLD_IMPORT_SPLIT_H_

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "log/event.h"

namespace crlog::engine {

// `import` itself when its rows fit in `max_rows_bytes`; else members whose
// rows each fit (a single row larger than that is a member alone), with
// their group index and count set. Each member's `group.first` is left for
// the caller to set once member 0 is encoded and has an id.
absl::StatusOr<std::vector<log::Event>> SplitImport(log::Event import, size_t max_rows_bytes);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_FOLD_IMPORT_SPLIT_H_
