// Ed25519 signatures over events, through OpenSSL's EVP interface
// (log/signing.h). The signed digest is taken from canonical bytes with the
// signature pointer cleared, never from a re-encoding of the decoded event,
// so what a signature covers is exactly the bytes that were signed.
#include "log/signing.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/strings.h"
#include "event.capnp.h"

namespace crlog::log {
namespace {

constexpr std::string_view kMessagePrefix = "crlog event v1\n";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

// OpenSSL's reason for the last failure, for a message.
std::string OpenSslReason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no reason given";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string Who(const Hash& id, const Event& event) {
  return absl::StrCat("event ", ToHex(id), " (site ", ToHex(event.site), ", seq ", event.seq, ")");
}

absl::Status Verify(std::string_view message, std::string_view signature, const PublicKey& key,
                    bool* matches) {
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  if (!pkey) {
    return absl::InvalidArgumentError(
        absl::StrCat("the public key ", ToHex(key), " is not an Ed25519 key: ", OpenSslReason()));
  }
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return absl::InternalError(absl::StrCat("starting an Ed25519 check failed: ", OpenSslReason()));
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                            message.size());
  ERR_clear_error();  // a mismatch leaves an error on the queue; it is an answer, not a fault
  *matches = rc == 1;
  return absl::OkStatus();
}

absl::Status Check(std::string_view signed_bytes, const Hash& id, const Event& event,
                   const PublicKey& key) {
  if (event.signature.empty()) {
    return absl::DataLossError(absl::StrCat(Who(id, event), " is unsigned"));
  }
  auto message = SignedMessage(signed_bytes);
  if (!message.ok()) return message.status();
  bool matches = false;
  if (absl::Status s = Verify(*message, event.signature, key, &matches); !s.ok()) return s;
  if (!matches) {
    return absl::DataLossError(absl::StrCat(Who(id, event), ": its signature does not match site ",
                                            ToHex(event.site), "'s key ", ToHex(key),
                                            ": the event was forged or altered, or the key trusted "
                                            "for the site is wrong"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PublicKey> PublicKeyFromHex(std::string_view hex) {
  PublicKey out{};
  if (hex.size() != 2 * out.size()) {
    return absl::InvalidArgumentError(absl::StrCat("a public key is ", 2 * out.size(),
                                                   " hex digits; got ", hex.size(), " in '",
                                                   Sv(hex), "'"));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Sv(hex), "' is not a hex public key: use only 0-9 and a-f"));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void SigningKey::Free::operator()(evp_pkey_st* p) const { EVP_PKEY_free(p); }

SigningKey::SigningKey(evp_pkey_st* pkey) : pkey_(pkey) {
  size_t len = public_key_.size();
  // Cannot fail for an Ed25519 key, which both factories check.
  if (EVP_PKEY_get_raw_public_key(pkey_.get(), public_key_.data(), &len) != 1 ||
      len != public_key_.size()) {
    std::abort();
  }
}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

absl::StatusOr<SigningKey> SigningKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) {
    return absl::InternalError(absl::StrCat("generating an Ed25519 key failed: ", OpenSslReason()));
  }
  return SigningKey(pkey);
}

absl::StatusOr<SigningKey> SigningKey::FromPem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::ResourceExhaustedError("out of memory reading a PEM key");
  // No password callback: an encrypted key fails here instead of prompting.
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr,
                                           [](char*, int, int, void*) { return 0; }, nullptr);
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not an unencrypted PEM private key (", OpenSslReason(),
        "): make one with `crlog keygen --out site.key`"));
  }
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return absl::InvalidArgumentError(
        "the PEM key is not an Ed25519 key: crlog signs with Ed25519 only (`crlog keygen`)");
  }
  return SigningKey(pkey);
}

std::string SigningKey::ToPem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    std::abort();  // only fails when out of memory
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> SigningKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  std::string sig(kSignatureBytes, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kSignatureBytes) {
    return absl::InternalError(absl::StrCat("Ed25519 signing failed: ", OpenSslReason()));
  }
  return sig;
}

absl::StatusOr<std::string> SignedMessage(std::string_view event_bytes) {
  if (event_bytes.empty() || event_bytes.size() % 8 != 0) {
    return absl::InvalidArgumentError("malformed event: not a whole number of 8-byte words");
  }
  Hash digest;
  try {
    // Cap'n Proto reads words in place: copy to aligned memory.
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(event_bytes.size() / 8);
    std::memcpy(words.begin(), event_bytes.data(), event_bytes.size());
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * 2 + 64;
    kj::ArrayPtr<const capnp::word> segments[1] = {words};
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segments, 1), options);
    auto root = reader.getRoot<wire::Event>();
    if (!root.hasSignature()) {
      digest = Sha256(event_bytes);
    } else {
      capnp::MallocMessageBuilder builder(words.size() + 8);
      builder.setRoot(root);
      auto copy = builder.getRoot<wire::Event>();
      copy.disownSignature();
      kj::Array<capnp::word> unsigned_words = capnp::canonicalize(copy.asReader());
      auto bytes = unsigned_words.asBytes();
      digest = Sha256(std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    }
  } catch (const kj::Exception& ex) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed event: not a Cap'n Proto event: ", ex.getDescription().cStr()));
  }
  std::string message(kMessagePrefix);
  message.append(AsBytes(digest));
  return message;
}

absl::Status SignEvent(Event& event, const SigningKey& key) {
  if (!event.is_native()) {
    return absl::InvalidArgumentError("an import event is never signed: it belongs to no site");
  }
  event.signature.clear();
  auto encoded = EncodeEvent(event, SIZE_MAX);
  if (!encoded.ok()) return encoded.status();
  // Unsigned bytes need no stripping.
  std::string message(kMessagePrefix);
  message.append(AsBytes(Sha256(encoded->bytes)));
  auto signature = key.Sign(message);
  if (!signature.ok()) return signature.status();
  event.signature = *std::move(signature);
  return absl::OkStatus();
}

absl::Status CheckSignature(const Event& event, const PublicKey& key) {
  auto encoded = EncodeEvent(event, SIZE_MAX);
  if (!encoded.ok()) return encoded.status();
  return Check(encoded->bytes, encoded->hash, event, key);
}

absl::Status CheckSignature(std::string_view event_bytes, const Event& event, const PublicKey& key) {
  return Check(event_bytes, Sha256(event_bytes), event, key);
}

}  // namespace crlog::log
