// Held events: remote events this database's tables refused to fold, and
// the events behind them.
//
// A remote event can be valid (its hash, parents and rows check out) and
// still be refused by the receiver's tables: a CHECK or UNIQUE constraint
// the sender does not have, a trigger of the application's, a pk of the
// wrong type. Refusing the bundle would stall sync for good (every later
// event descending from the refused one would lack a parent), and storing it
// and failing every later fold would make the database unopenable. So the
// event is kept in the log, left out of the tables, and recorded in
// crlog_held with the row and the reason; every event that descends from a
// held event is held behind it (it was written having seen the held writes),
// while everything else keeps folding. Local writes do not descend from held
// events: the database's heads, which local events name as parents, never
// include them.
//
// crlog_held (created the first time an event is held):
//   event    id of the held event (32 bytes)
//   cause    the event whose fold failed; equal to `event` for that one,
//            the first held event behind which it waits for the others
//   tbl, pk  the table and packed pk the tables refused (NULL behind another)
//   reason   the error the fold returned
//   held_at  when it was held, in Unix milliseconds
// A later issue keeps refused writes as sides a person accepts or drops; a
// side is the set of rows sharing a cause.
#ifndef CRLOG_ENGINE_FOLD_HELD_EVENTS_H_
#define CRLOG_ENGINE_FOLD_HELD_EVENTS_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/history.h"
#include "engine/fold/fold.h"
#include "log/event.h"
#include "log/hash.h"

namespace crlog::engine {

// Public (crlog/history.h).
using crlog::HeldEvent;

// Whether a fold failure is the tables refusing an event's content (held),
// rather than a fault of the database or the machine (refused whole).
bool IsRefusedByTables(const absl::Status& fold_error);

// Every held event, oldest first; empty when none was ever held.
absl::StatusOr<std::vector<HeldEvent>> ReadHeldEvents(sqlite3* db);
// Held event ids, each with its cause.
absl::StatusOr<absl::flat_hash_map<log::Hash, log::Hash>> ReadHeldCauses(sqlite3* db);
// Records `held` (creating crlog_held when missing). Requires a write
// transaction; commits with the fold that held it.
absl::Status RecordHeldEvent(sqlite3* db, const HeldEvent& held);
// Folds `events` (parents first; `hashes` their ids) through `fold`,
// holding each event the tables refuse (an event group as a whole: it is one
// transaction) and every event behind a held one, and folding the rest.
// Events crlog_held lists already are skipped. Returns how many were folded.
// Faults that are not a refusal (I/O, a full disk) are returned; the caller
// rolls its transaction back.
absl::StatusOr<uint64_t> FoldHoldingRefused(sqlite3* db, Fold& fold, absl::Span<const log::Event> events,
                                            absl::Span<const log::Hash> hashes);

// Forgets every held event, so that the next fold tries them again.
absl::Status ForgetHeldEvents(sqlite3* db);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_FOLD_HELD_EVENTS_H_
