// The SQLite routines in force (schema/sqlite_api.h).
#include "schema/sqlite_api.h"

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace crlog::sqlite {
namespace {

std::mutex registry_mu;
std::atomic<const sqlite3_api_routines*> slots[kMaxApis];
std::atomic<const sqlite3_api_routines*> process_default{nullptr};
std::atomic<const sqlite3_api_routines* (*)()> linked_fallback{nullptr};

// The routines current on each thread, under a pthread key rather than in a
// thread_local: this file is compiled into the dlopened extension, where a
// thread_local lives in dynamic TLS, which this toolchain's LeakSanitizer
// crashes on while scanning at exit ("Tracer caught signal 11"). The key is
// deleted when the extension is unloaded, so load/unload cycles do not use
// keys up.
class CurrentKey {
 public:
  CurrentKey() {
    if (pthread_key_create(&key_, nullptr) != 0) {
      std::fputs("crlog: no pthread key is left for the SQLite routines in force\n", stderr);
      std::abort();
    }
  }
  ~CurrentKey() { pthread_key_delete(key_); }
  const sqlite3_api_routines* Get() const { return static_cast<const sqlite3_api_routines*>(pthread_getspecific(key_)); }
  void Set(const sqlite3_api_routines* api) const { pthread_setspecific(key_, api); }

 private:
  pthread_key_t key_;
};

const CurrentKey& CurrentRoutinesKey() {
  static const CurrentKey key;
  return key;
}

}  // namespace

absl::StatusOr<int> Register(const sqlite3_api_routines* api) {
  if (api == nullptr) return absl::InvalidArgumentError("no SQLite routines were handed to crlog");
  // libversion_number has been in the routines since SQLite 3.3, so it is
  // safe to read before knowing how long the table is.
  const int version = api->libversion_number();
  if (version < kMinVersionNumber) {
    return absl::FailedPreconditionError(absl::StrCat(
        "crlog needs SQLite ", kMinVersion, " or newer, but the SQLite loading it is ", api->libversion(),
        "; upgrade the SQLite your program uses (or the library that bundles it)"));
  }
  std::lock_guard<std::mutex> lock(registry_mu);
  for (int i = 0; i < kMaxApis; ++i) {
    const sqlite3_api_routines* held = slots[i].load();
    if (held == api) return i;
    if (held == nullptr) {
      slots[i].store(api);
      const sqlite3_api_routines* none = nullptr;
      process_default.compare_exchange_strong(none, api);
      return i;
    }
  }
  return absl::ResourceExhaustedError(absl::StrCat("crlog was loaded by more than ", kMaxApis,
                                                   " different SQLite libraries in one process"));
}

const sqlite3_api_routines* InSlot(int slot) { return slots[slot].load(std::memory_order_relaxed); }

const sqlite3_api_routines* Current() {
  if (const sqlite3_api_routines* current = CurrentRoutinesKey().Get()) return current;
  if (const sqlite3_api_routines* d = process_default.load(std::memory_order_acquire)) return d;
  if (auto fallback = linked_fallback.load()) {
    if (const sqlite3_api_routines* api = fallback(); api != nullptr) {
      if (Register(api).ok()) return process_default.load();
    }
  }
  std::fputs("crlog: no SQLite routines are known to this process (a crlog bug)\n", stderr);
  std::abort();
}

ApiScope::ApiScope(int slot) : previous_(CurrentRoutinesKey().Get()) { CurrentRoutinesKey().Set(InSlot(slot)); }
ApiScope::~ApiScope() { CurrentRoutinesKey().Set(previous_); }

void SetLinkedFallback(const sqlite3_api_routines* (*fallback)()) { linked_fallback.store(fallback); }

}  // namespace crlog::sqlite
