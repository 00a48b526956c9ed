// Site ordinals (engine/replica/site_ordinals.h).
#include "engine/replica/site_ordinals.h"

#include "log/hash.h"

namespace crlog::engine {

void SiteOrdinals::Remember(uint32_t ordinal, const log::SiteId& site) {
  ordinals_[site] = ordinal;
  sites_[ordinal] = site;
}

absl::Status SiteOrdinals::Load() {
  ordinals_.clear();
  sites_.clear();
  auto stmt = sqlite::Stmt::Prepare(db_, "SELECT ordinal, site FROM main.crlog_sites");
  if (!stmt.ok()) return stmt.status();
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    Remember(static_cast<uint32_t>(stmt->ColumnInt(0)), log::ToArray<16>(stmt->ColumnBlob(1)));
  }
}

std::optional<uint32_t> SiteOrdinals::Find(const log::SiteId& site) const {
  if (site == local_site_) return 0;
  if (auto it = ordinals_.find(site); it != ordinals_.end()) return it->second;
  return std::nullopt;
}

absl::StatusOr<uint32_t> SiteOrdinals::Intern(const log::SiteId& site) {
  if (site == local_site_) return 0;
  if (auto it = ordinals_.find(site); it != ordinals_.end()) return it->second;
  if (!insert_) {
    auto stmt = sqlite::Stmt::Prepare(db_, "INSERT INTO main.crlog_sites(site) VALUES (?1) RETURNING ordinal");
    if (!stmt.ok()) return stmt.status();
    insert_ = *std::move(stmt);
  }
  insert_.BindBlob(1, log::AsBytes(site));
  auto row = insert_.Step();
  if (!row.ok()) {
    insert_.Reset();
    return row.status();
  }
  auto ordinal = static_cast<uint32_t>(insert_.ColumnInt(0));
  insert_.Reset();
  Remember(ordinal, site);
  return ordinal;
}

absl::StatusOr<std::optional<log::SiteId>> SiteOrdinals::Site(uint32_t ordinal) {
  if (ordinal == 0) return std::optional<log::SiteId>(local_site_);
  if (auto it = sites_.find(ordinal); it != sites_.end()) return it->second;
  if (!select_) {
    auto stmt = sqlite::Stmt::Prepare(db_, "SELECT site FROM main.crlog_sites WHERE ordinal = ?1");
    if (!stmt.ok()) return stmt.status();
    select_ = *std::move(stmt);
  }
  select_.BindInt(1, ordinal);
  auto row = select_.Step();
  if (!row.ok()) {
    select_.Reset();
    return row.status();
  }
  std::optional<log::SiteId> site;
  if (*row && select_.ColumnBlob(0).size() == 16) site = log::ToArray<16>(select_.ColumnBlob(0));
  select_.Reset();
  sites_[ordinal] = site;
  return site;
}

}  // namespace crlog::engine
