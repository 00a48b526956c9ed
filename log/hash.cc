// SHA-256 of event bytes.
#include "log/hash.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>


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
