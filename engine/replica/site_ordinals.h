// The sites of main.crlog_sites by ordinal and back (engine/replica/
// meta_tables.h): row clocks name a cell's writer by ordinal, 0 being the
// local site, which crlog_sites does not list. Every reader and writer of
// the mapping goes through this class, so they agree on ordinal 0 and on
// what an unlisted ordinal means.
//
// Caches what it has read; `db` must outlive it and stay on the caller's
// thread. Not copyable.
#ifndef CRLOG_ENGINE_REPLICA_SITE_ORDINALS_H_
#define CRLOG_ENGINE_REPLICA_SITE_ORDINALS_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "log/event.h"
#include "util/sqlite/stmt.h"

namespace crlog::engine {

class SiteOrdinals {
 public:
  SiteOrdinals(sqlite3* db, const log::SiteId& local_site) : db_(db), local_site_(local_site) {}
  SiteOrdinals(const SiteOrdinals&) = delete;
  SiteOrdinals& operator=(const SiteOrdinals&) = delete;

  // Reads every row of crlog_sites, forgetting what was cached (for after a
  // ROLLBACK TO undid rows Intern added).
  absl::Status Load();

  // The ordinal of `site`, adding it to crlog_sites (in the caller's
  // transaction) when it is not listed yet.
  absl::StatusOr<uint32_t> Intern(const log::SiteId& site);

  // The ordinal of `site` as Load read it (0 for the local site), nullopt
  // when crlog_sites does not list it; adds nothing.
  std::optional<uint32_t> Find(const log::SiteId& site) const;

  // The site of `ordinal`: the local site for 0, nullopt when crlog_sites
  // lists none (read on a miss; the answer is cached either way).
  absl::StatusOr<std::optional<log::SiteId>> Site(uint32_t ordinal);

 private:
  void Remember(uint32_t ordinal, const log::SiteId& site);

  sqlite3* db_;
  log::SiteId local_site_;
  sqlite::Stmt insert_, select_;
  absl::flat_hash_map<log::SiteId, uint32_t> ordinals_;
  absl::flat_hash_map<uint32_t, std::optional<log::SiteId>> sites_;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_REPLICA_SITE_ORDINALS_H_
