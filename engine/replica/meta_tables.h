// crlog's own tables inside the replicated database. They commit with the
// user's tables, so whatever they say is exactly as durable and atomic as the
// data they describe.
//
//   crlog_site       (id = 0) this replica's site id, and the id of the log
//                    that belongs to this database ("owner")
//   crlog_watermark  (id = 0) newest local event SQLite committed: its seq,
//                    its id, and the database's current db_version
//   crlog_heads      ids of the events whose past is materialised here
//   crlog_tables     replicated tables and their ids
//   crlog_clock      the per-row clock (engine/fold/row_clock.h), keyed (table, pk)
//   crlog_versions   which events were materialised at each db_version
//   crlog_version_sites  which sites' changes each db_version holds
//   crlog_sites      ordinals of other sites seen in merged cells
//   crlog_conflicts  concurrent writes to one cell that a merge decided
//   crlog_alter      a replicated table's columns when crsql_begin_alter ran
//   crlog_stash      merged changes to columns the table does not have (yet),
//                    applied when an alter adds them
//   crlog_keys       the public key trusted for each signing site
//                    (engine/replica/signing_keys.h)
//   crlog_held       remote events the tables refused to fold, and those
//                    behind them (engine/fold/held_events.h)
//   crsql_master, crsql_tracked_peers  cr-sqlite's, with its layout (below)
#ifndef CRLOG_ENGINE_REPLICA_META_TABLES_H_
#define CRLOG_ENGINE_REPLICA_META_TABLES_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "log/hash.h"

namespace crlog::engine::meta {

// A replicated table dropped and created again in a transaction that has
// not committed yet keeps its crlog_tables entry renamed
// "crlog_dropped:<id>:<name>" (no user table can have a crlog_ name) until
// the commit records the drop (engine/replica/replica.h, MakeReplicated).
inline constexpr char kDroppedTablePrefix[] = "crlog_dropped:";

// Creates the tables if they are missing (cr-sqlite's two included).
// Requires a write transaction.
absl::Status CreateTables(sqlite3* db);
// crlog's own tables only (a replay's scratch database, which ends as an
// ordinary file without them).
absl::Status CreateCrlogTables(sqlite3* db);
// crlog_held (engine/fold/held_events.h); databases older than it get it when
// they first hold an event.
absl::Status CreateHeldTable(sqlite3* db);
// cr-sqlite's tables that programs and sync servers use directly, with its
// layout: crsql_master (key/value: 'crsqlite_version', 'config.<name>' for
// crsql_config_set, and whatever a server stores, such as vlcn's
// 'schema_name') and crsql_tracked_peers (the versions a program has seen
// from each peer; crlog only keeps it). Databases crlog initialised before
// they existed get them at the next load that can write.
absl::Status CreateCrsqlTables(sqlite3* db);
absl::StatusOr<bool> HasCrsqlTables(sqlite3* db);

// crlog_tables.shape: a replicated table's pk and non-pk column names as
// capture was set up for them, to find an ALTER TABLE made outside
// crsql_begin_alter / crsql_commit_alter. Databases older than the column
// get it at the next load that can write.
std::string EncodeShape(const std::vector<std::string>& pk, const std::vector<std::string>& columns);
void DecodeShape(std::string_view shape, std::vector<std::string>* pk, std::vector<std::string>* columns);
absl::StatusOr<bool> HasShapeColumn(sqlite3* db);
// Whether this database has been initialised by crlog (crlog_site exists).
absl::StatusOr<bool> Initialised(sqlite3* db);

struct SiteRow {
  log::SiteId site{};
  std::string owner;  // 16 random bytes, also in the log's meta
};
absl::StatusOr<std::optional<SiteRow>> ReadSite(sqlite3* db);
absl::Status WriteSite(sqlite3* db, const SiteRow& row);

struct Watermark {
  uint64_t seq = 0;       // newest committed local event's seq (0: none)
  log::Hash hash{};       // its id (zero when seq == 0)
  uint64_t db_version = 0;
};
absl::StatusOr<Watermark> ReadWatermark(sqlite3* db);
absl::Status WriteWatermark(sqlite3* db, const Watermark& w);

absl::StatusOr<std::vector<log::Hash>> ReadHeads(sqlite3* db);
// Materialising `event` makes it a head and its parents no longer heads.
absl::Status AdvanceHeads(sqlite3* db, absl::Span<const log::Hash> parents, const log::Hash& event);

absl::Status RecordVersion(sqlite3* db, uint64_t db_version, uint32_t part, const log::Hash& event);
// Records `event` at db_version after the events recorded there already.
absl::Status AppendVersion(sqlite3* db, uint64_t db_version, const log::Hash& event);
// Records that changes written by `sites` were materialised at db_version,
// so crsql_changes can serve `WHERE site_id = ?` (and IS NOT) by index.
// Sites other than `local_site` must be in crlog_sites already.
absl::Status RecordVersionSites(sqlite3* db, uint64_t db_version, absl::Span<const log::SiteId> sites,
                                const log::SiteId& local_site);

}  // namespace crlog::engine::meta

#endif  // CRLOG_ENGINE_REPLICA_META_TABLES_H_
