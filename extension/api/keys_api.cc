// crlog/keys.h: keygen and trust over log/signing.h and
// engine/replica/signing_keys.h.
#include "crlog/keys.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/replica/signing_keys.h"
#include "util/sqlite/stmt.h"
#include "log/signing.h"
#include "util/sqlite/api.h"

namespace crlog {

absl::StatusOr<GeneratedKey> GenerateSigningKey() {
  auto key = log::SigningKey::Generate();
  if (!key.ok()) return key.status();
  return GeneratedKey{key->ToPem(), ToHex(key->public_key())};
}

absl::StatusOr<TrustedSiteKey> TrustSiteKey(const std::string& db_path, const SiteId& site,
                                            std::string_view public_key_hex, uint64_t signs_from_seq,
                                            bool replace) {
  auto key = log::PublicKeyFromHex(public_key_hex);
  if (!key.ok()) return key.status();
  // Never created: trusting a key for a database that is not there is a typo.
  auto opened = sqlite::OpenDb(db_path, SQLITE_OPEN_READWRITE,
                               absl::StrCat("cannot open the database '", db_path, "'"));
  if (!opened.ok()) return absl::NotFoundError(opened.status().message());
  sqlite3* const db = opened->get();
  sqlite3_busy_timeout(db, 5000);
  if (absl::Status s = sqlite::Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
  const log::TrustedKey trusted{*key, signs_from_seq};
  absl::Status s = engine::TrustKey(db, site, trusted, replace);
  if (s.ok()) s = sqlite::Exec(db, "COMMIT");
  if (!s.ok()) {
    sqlite::Exec(db, "ROLLBACK").IgnoreError();
    return s;
  }
  return TrustedSiteKey{site, ToHex(*key), signs_from_seq};
}

}  // namespace crlog
