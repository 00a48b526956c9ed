// SHA-256 of event bytes, and hex for ids shown to people.
#include "log/hash.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "log/strings.h"

namespace crlog::log {
namespace {

// Digest contexts are reused from a pool: fetching the digest and making a
// context per call doubles the cost of hashing a small event. A pool, not a
// thread_local, because this code is also linked into the dlopened
// extension, and a thread_local there lives in dynamic TLS, which this
// toolchain's LeakSanitizer crashes on while scanning at exit.
class Sha256Pool {
 public:
  Sha256Pool() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
    if (md_ == nullptr) std::abort();  // OpenSSL without SHA-256: unusable
  }
  ~Sha256Pool() {
    for (EVP_MD_CTX* ctx : idle_) EVP_MD_CTX_free(ctx);
    EVP_MD_free(md_);
  }
  const EVP_MD* md() const { return md_; }
  EVP_MD_CTX* Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        EVP_MD_CTX* ctx = idle_.back();
        idle_.pop_back();
        return ctx;
      }
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) std::abort();
    return ctx;
  }
  void Give(EVP_MD_CTX* ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(ctx);
  }

 private:
  EVP_MD* md_;
  std::mutex mu_;
  std::vector<EVP_MD_CTX*> idle_;
};

Sha256Pool& Pool() {
  static Sha256Pool pool;
  return pool;
}

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> FromHex(std::string_view hex, const char* what) {
  if (hex.size() != 2 * N) {
    return absl::InvalidArgumentError(absl::StrCat("a ", what, " is ", 2 * N, " hex digits; got ",
                                                   hex.size(), " in '", Sv(hex), "'"));
  }
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Sv(hex), "' is not a hex ", what, ": use only 0-9 and a-f"));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace

Hash Sha256(std::string_view bytes) {
  Sha256Pool& pool = Pool();
  EVP_MD_CTX* ctx = pool.Take();
  Hash out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, pool.md(), nullptr) != 1 || EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) {
    std::abort();  // cannot fail for SHA-256 with valid arguments
  }
  pool.Give(ctx);
  return out;
}

}  // namespace crlog::log

namespace crlog {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

std::string ShortHex(const Hash& h) { return ToHex(h).substr(0, 12); }

absl::StatusOr<Hash> HashFromHex(std::string_view hex) { return log::FromHex<32>(hex, "event id"); }
absl::StatusOr<SiteId> SiteIdFromHex(std::string_view hex) { return log::FromHex<16>(hex, "site id"); }

}  // namespace crlog
