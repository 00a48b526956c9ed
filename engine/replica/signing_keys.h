// The trust store: which public key this database trusts for which site
// (crlog_keys, in the database itself), and the replica's own signing key.
//
// Keys reach a replica out of band: its operator trusts a site's key
// explicitly (crlog_trust, `crlog trust`); a site trusts its own key when it
// starts signing (crlog_sign_with). Nothing is trusted because it arrived
// in an event (docs/architecture.md, "Signing and trust").
//
// crlog_keys(site BLOB PRIMARY KEY, public_key BLOB NOT NULL,
//            signs_from_seq INTEGER NOT NULL, added_micros INTEGER NOT NULL)
//   site            16-byte site id
//   public_key      32-byte Ed25519 public key
//   signs_from_seq  the site's events from this seq on must be signed;
//                   earlier ones were written before it began to sign
//   added_micros    when this database began to trust the key (display only)
#ifndef CRLOG_ENGINE_REPLICA_SIGNING_KEYS_H_
#define CRLOG_ENGINE_REPLICA_SIGNING_KEYS_H_

#include "util/sqlite/api.h"

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "engine/replica/replica.h"
#include "log/hash.h"
#include "log/signing.h"

namespace crlog::engine {

// Every trusted key. Empty when the database has no crlog_keys (created
// before crlog could sign), so it reads a read-only database too.
absl::StatusOr<log::TrustedKeys> ReadTrustedKeys(sqlite3* db);
// The key trusted for `site`, if any.
absl::StatusOr<std::optional<log::TrustedKey>> ReadTrustedKey(sqlite3* db, const log::SiteId& site);

// Records that `site` signs with `key.key` from `key.signs_from_seq` on.
// Trusting exactly what is recorded is a no-op. Changing a site's key (or
// its first signed seq) needs `replace`, otherwise FailedPrecondition saying
// which key is trusted now. FailedPrecondition when the database is not
// replicated by crlog. Creates crlog_keys in a database made before it
// existed. Runs inside the caller's transaction, or in its own.
absl::Status TrustKey(sqlite3* db, const log::SiteId& site, const log::TrustedKey& key,
                      bool replace = false);

// Makes `replica` sign every local event it writes from now on with `key`
// (null: stop signing), for every connection of this process to the
// database. When the replica's site has no trusted key yet, trusts this one
// for it from the next local seq on (a site trusts itself). Refused with
// FailedPrecondition when the site already trusts a different key: a site
// signs with one key. Returns the key trusted for the site afterwards.
absl::StatusOr<std::optional<log::TrustedKey>> SignWith(sqlite3* db, Replica& replica,
                                                        std::shared_ptr<const log::SigningKey> key);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_REPLICA_SIGNING_KEYS_H_
