// crlog/keys.h: signing keys and trust (docs/architecture.md, "Signing and
// trust"): making a site's Ed25519 key, and telling a database to trust a
// site's public key. Keys reach a replica out of band; nothing is trusted
// because it arrived in an event.
//
// Thread rules: the functions are thread-safe; each opens what it needs and
// closes it before returning. Results are values. The private key in a
// GeneratedKey is a secret: write it to a file only its owner reads (0600).
#ifndef CRLOG_KEYS_H_
#define CRLOG_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crlog/ids.h"

namespace crlog {

struct GeneratedKey {
  // Unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), as `openssl
  // genpkey -algorithm ed25519` writes it.
  std::string private_key_pem;
  // The raw 32-byte public key in lower-case hex (64 digits): what a peer
  // passes to TrustSiteKey.
  std::string public_key_hex;
};

// A new random Ed25519 key. Internal when the system's crypto fails.
absl::StatusOr<GeneratedKey> GenerateSigningKey();

// What a database trusts for a site after TrustSiteKey.
struct TrustedSiteKey {
  SiteId site{};
  std::string public_key_hex;  // lower-case, 64 digits
  uint64_t signs_from_seq = 1;
};

// Records in the database at `db_path` (an existing database replicated by
// crlog; never created) that `site` signs with the Ed25519 public key
// `public_key_hex` (64 hex digits) from seq `signs_from_seq` on; earlier
// events of the site may be unsigned. Trusting exactly what is recorded is a
// no-op. InvalidArgument for a key that is not 64 hex digits; NotFound when
// the database cannot be opened; FailedPrecondition when the database is not
// replicated by crlog, or when the site already has another key and
// `replace` is false (the message names the key trusted now). Waits up to
// 5 s for a writer holding the database.
absl::StatusOr<TrustedSiteKey> TrustSiteKey(const std::string& db_path, const SiteId& site,
                                            std::string_view public_key_hex, uint64_t signs_from_seq = 1,
                                            bool replace = false);

}  // namespace crlog

#endif  // CRLOG_KEYS_H_
