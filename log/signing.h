// Signed events: a site may sign each native event it writes with an Ed25519
// key, so that a replica which trusts the site's public key can tell the
// site's events from forged or altered ones (docs/format.md, "Signatures";
// docs/architecture.md, "Signing and trust").
//
// What is signed: the bytes "crlog event v1\n" followed by the 32-byte
// SHA-256 of the event's canonical encoding with its `signature` field null.
// The signature therefore covers every other field (parents included, and so
// the whole past), and the event's id, the hash of the encoding with the
// signature, covers the signature.
#ifndef CRLOG_LOG_SIGNING_H_
#define CRLOG_LOG_SIGNING_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "log/event.h"
#include "log/hash.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace crlog::log {

// A raw Ed25519 public key.
using PublicKey = std::array<uint8_t, 32>;

// Parses exactly 64 hex digits.
absl::StatusOr<PublicKey> PublicKeyFromHex(std::string_view hex);

// A site's key as a replica trusts it. Events of the site from seq
// `signs_from_seq` on must be signed with it; earlier ones (written before
// the site began to sign) may be unsigned, and are checked when signed.
struct TrustedKey {
  PublicKey key{};
  uint64_t signs_from_seq = 1;
  friend bool operator==(const TrustedKey&, const TrustedKey&) = default;
};
using TrustedKeys = std::map<SiteId, TrustedKey>;

// An Ed25519 private key. Movable, not copyable; share it through a
// shared_ptr<const SigningKey>. Signing is thread-safe.
class SigningKey {
 public:
  // A new random key.
  static absl::StatusOr<SigningKey> Generate();
  // A PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----", as `crlog
  // keygen` and `openssl genpkey -algorithm ed25519` write). InvalidArgument
  // when it is not an unencrypted Ed25519 private key.
  static absl::StatusOr<SigningKey> FromPem(std::string_view pem);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  // Unencrypted PKCS#8 PEM: keep it like a password (mode 0600).
  std::string ToPem() const;
  const PublicKey& public_key() const { return public_key_; }
  // The 64-byte signature of `message`.
  absl::StatusOr<std::string> Sign(std::string_view message) const;

 private:
  explicit SigningKey(evp_pkey_st* pkey);
  struct Free {
    void operator()(evp_pkey_st* p) const;
  };
  std::unique_ptr<evp_pkey_st, Free> pkey_;
  PublicKey public_key_{};
};

// The message a site signs for the event whose canonical bytes (signature
// included or not) are `event_bytes`.
absl::StatusOr<std::string> SignedMessage(std::string_view event_bytes);

// Signs `event` (a native event, complete but for its signature) and sets
// event.signature. Sign last: any later change to the event breaks it.
absl::Status SignEvent(Event& event, const SigningKey& key);

// OK when `event` carries a signature by `key`. DataLoss naming the event
// and site when it is unsigned or its signature does not match.
absl::Status CheckSignature(const Event& event, const PublicKey& key);
// The same for an event as stored or received: `event_bytes` are its
// canonical bytes and `event` their decoding. Checks the bytes themselves,
// so a second encoding of the same content does not carry a signature over.
absl::Status CheckSignature(std::string_view event_bytes, const Event& event, const PublicKey& key);

}  // namespace crlog::log

#endif  // CRLOG_LOG_SIGNING_H_
