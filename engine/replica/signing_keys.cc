// The trust store in crlog_keys, and starting or stopping a replica's
// signing (engine/replica/signing_keys.h).
#include "engine/replica/signing_keys.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/replica/meta_tables.h"
#include "util/sqlite/stmt.h"

namespace crlog::engine {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DbName(sqlite3* db) {
  const char* name = sqlite3_db_filename(db, "main");
  return name != nullptr && *name != '\0' ? name : ":memory:";
}

absl::StatusOr<bool> HasKeysTable(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(
      db, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'crlog_keys'");
  if (!stmt.ok()) return stmt.status();
  return stmt->Step();
}

// A database crlog initialised before crlog_keys existed gets it now
// (CreateTables creates only what is missing).
absl::Status EnsureKeysTable(sqlite3* db) {
  auto initialised = meta::Initialised(db);
  if (!initialised.ok()) return initialised.status();
  if (!*initialised) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database '", DbName(db),
        "' is not replicated by crlog: load the crlog extension on it first (it trusts keys "
        "for the sites whose events it holds)"));
  }
  auto has = HasKeysTable(db);
  if (!has.ok()) return has.status();
  return *has ? absl::OkStatus() : meta::CreateTables(db);
}

absl::StatusOr<log::TrustedKey> RowKey(const sqlite::Stmt& stmt, int first_column, const std::string& site_hex) {
  if (stmt.ColumnBlob(first_column).size() != 32) {
    return absl::DataLossError(absl::StrCat("crlog_keys holds a public key for site ", site_hex,
                                            " that is not 32 bytes: fix it with crlog_trust(site, "
                                            "key, 1)"));
  }
  log::TrustedKey key;
  key.key = log::ToArray<32>(stmt.ColumnBlob(first_column));
  int64_t from = stmt.ColumnInt(first_column + 1);
  key.signs_from_seq = from < 1 ? 1 : static_cast<uint64_t>(from);
  return key;
}

// Runs `body` in a savepoint: released on success, rolled back on failure.
template <typename Body>
absl::Status InSavepoint(sqlite3* db, const char* name, Body body) {
  sqlite::Savepoint sp(db, name);
  if (!sp.status().ok()) return sp.status();
  if (absl::Status s = body(); !s.ok()) return s;
  return sp.Release();
}

}  // namespace

absl::StatusOr<log::TrustedKeys> ReadTrustedKeys(sqlite3* db) {
  log::TrustedKeys keys;
  auto has = HasKeysTable(db);
  if (!has.ok()) return has.status();
  if (!*has) return keys;
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT site, public_key, signs_from_seq FROM main.crlog_keys");
  if (!stmt.ok()) return stmt.status();
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    std::string site_hex = log::ToHex(stmt->ColumnBlob(0));
    if (stmt->ColumnBlob(0).size() != 16) {
      return absl::DataLossError(absl::StrCat("crlog_keys names a site '", site_hex,
                                              "' that is not 16 bytes: delete that row"));
    }
    auto key = RowKey(*stmt, 1, site_hex);
    if (!key.ok()) return key.status();
    keys.emplace(log::ToArray<16>(stmt->ColumnBlob(0)), *key);
  }
  return keys;
}

absl::StatusOr<std::optional<log::TrustedKey>> ReadTrustedKey(sqlite3* db, const log::SiteId& site) {
  auto has = HasKeysTable(db);
  if (!has.ok()) return has.status();
  if (!*has) return std::nullopt;
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT public_key, signs_from_seq FROM main.crlog_keys WHERE site = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->BindBlob(1, log::AsBytes(site));
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  auto key = RowKey(*stmt, 0, log::ToHex(site));
  if (!key.ok()) return key.status();
  return *key;
}

absl::Status TrustKey(sqlite3* db, const log::SiteId& site, const log::TrustedKey& key, bool replace) {
  if (site == log::SiteId{}) return absl::InvalidArgumentError("the zero site id names no site");
  if (key.signs_from_seq < 1) return absl::InvalidArgumentError("a site's seqs start at 1");
  return InSavepoint(db, "crlog_trust", [&]() -> absl::Status {
    if (absl::Status s = EnsureKeysTable(db); !s.ok()) return s;
    auto existing = ReadTrustedKey(db, site);
    if (!existing.ok()) return existing.status();
    if (existing->has_value() && **existing == key) return absl::OkStatus();
    if (existing->has_value() && !replace) {
      return absl::FailedPreconditionError(absl::StrCat(
          "site ", log::ToHex(site), " already has a trusted key, ", log::ToHex((*existing)->key),
          " (signing from seq ", (*existing)->signs_from_seq, "): replacing it makes every event "
          "signed with the old key fail verification; if that is what you mean, replace it "
          "(crlog_trust(site, key, 1), or crlog trust --replace)"));
    }
    auto stmt = sqlite::Stmt::Prepare(db, "INSERT OR REPLACE INTO main.crlog_keys(site, public_key, "
                                  "signs_from_seq, added_micros) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, log::AsBytes(site));
    stmt->BindBlob(2, log::AsBytes(key.key));
    stmt->BindInt(3, static_cast<int64_t>(key.signs_from_seq));
    stmt->BindInt(4, NowMicros());
    return stmt->Run();
  });
}

absl::StatusOr<std::optional<log::TrustedKey>> SignWith(sqlite3* db, Replica& replica,
                                                        std::shared_ptr<const log::SigningKey> key) {
  if (key == nullptr) {
    replica.SetSigningKey(nullptr);
    return ReadTrustedKey(db, replica.site());
  }
  const log::SiteId& site = replica.site();
  absl::Status s = InSavepoint(db, "crlog_sign_with", [&]() -> absl::Status {
    if (absl::Status e = EnsureKeysTable(db); !e.ok()) return e;
    auto existing = ReadTrustedKey(db, site);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      if ((*existing)->key == key->public_key()) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat(
          "this site (", log::ToHex(site), ") signs with the key ", log::ToHex((*existing)->key),
          ", not with this PEM's key ", log::ToHex(key->public_key()),
          ": sign with the site's own key. To change keys, first trust the new one with "
          "crlog_trust(crsql_site_id(), '", log::ToHex(key->public_key()),
          "', 1); events signed with the old key then fail verification"));
    }
    // The next local event is the first signed one: it follows the newest
    // committed local event, read under the write lock this insert takes.
    auto stmt = sqlite::Stmt::Prepare(
        db, "INSERT INTO main.crlog_keys(site, public_key, signs_from_seq, added_micros) "
            "SELECT ?1, ?2, seq + 1, ?3 FROM main.crlog_watermark WHERE id = 0");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, log::AsBytes(site));
    stmt->BindBlob(2, log::AsBytes(key->public_key()));
    stmt->BindInt(3, NowMicros());
    return stmt->Run();
  });
  if (!s.ok()) return s;
  replica.SetSigningKey(std::move(key));
  return ReadTrustedKey(db, site);
}

}  // namespace crlog::engine
