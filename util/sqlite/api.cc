// The SQLite routines in force (util/sqlite/api.h).
#include "util/sqlite/api.h"

#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "util/thread_slot.h"

namespace crlog::sqlite {
namespace {

std::mutex registry_mu;
std::atomic<const sqlite3_api_routines*> slots[kMaxApis];
std::atomic<const sqlite3_api_routines*> process_default{nullptr};

// The routines current on each thread (a pthread key: see
// util/thread_slot.h).
const ThreadSlot<const sqlite3_api_routines>& CurrentRoutinesKey() {
  static const ThreadSlot<const sqlite3_api_routines> key("the SQLite routines in force");
  return key;
}

// The routines of the SQLite a program links: SQLite hands its routines
// table to every auto-extension, so one is registered, a memory database is
// opened and closed, and the extension removed. The four calls are found by
// symbol, since the core links no SQLite of its own.
const sqlite3_api_routines* captured_routines = nullptr;
int CaptureRoutines(sqlite3*, char**, const sqlite3_api_routines* api) {
  captured_routines = api;
  return SQLITE_OK;
}

}  // namespace

const sqlite3_api_routines* ProcessSqlite() {
  static const sqlite3_api_routines* const found = []() -> const sqlite3_api_routines* {
    using EntryPoint = void (*)();
    // The program's own SQLite first. A program linked with --as-needed
    // (Debian's default) that calls SQLite only through crlog has no
    // libsqlite3 loaded: then the system's, which is the one it linked.
    // (RTLD_DEFAULT is a null handle, so "no library" is told apart by the
    // lookup, not by the handle.)
    void* from = RTLD_DEFAULT;
    if (dlsym(RTLD_DEFAULT, "sqlite3_auto_extension") == nullptr) {
      from = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
      if (from == nullptr) return nullptr;
    }
    auto auto_extension = reinterpret_cast<int (*)(EntryPoint)>(dlsym(from, "sqlite3_auto_extension"));
    auto cancel = reinterpret_cast<int (*)(EntryPoint)>(dlsym(from, "sqlite3_cancel_auto_extension"));
    auto open = reinterpret_cast<int (*)(const char*, sqlite3**, int, const char*)>(dlsym(from, "sqlite3_open_v2"));
    auto close = reinterpret_cast<int (*)(sqlite3*)>(dlsym(from, "sqlite3_close_v2"));
    if (!auto_extension || !cancel || !open || !close) return nullptr;
    // SQLite calls an auto-extension with three arguments; its declared type
    // has none.
    auto entry = reinterpret_cast<EntryPoint>(&CaptureRoutines);
    auto_extension(entry);
    sqlite3* db = nullptr;
    open(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr);
    close(db);
    cancel(entry);
    return captured_routines;
  }();
  return found;
}

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
  if (const sqlite3_api_routines* api = ProcessSqlite(); api != nullptr) {
    if (Register(api).ok()) return process_default.load();
  }
  std::fputs("crlog: no SQLite is known to this process: link SQLite into the program, or load crlog "
             "into a connection first (sqlite3_load_extension), or pass the routines to crlog::Replica::Attach\n",
             stderr);
  std::abort();
}

ApiScope::ApiScope(int slot) : previous_(CurrentRoutinesKey().Get()) { CurrentRoutinesKey().Set(InSlot(slot)); }
ApiScope::~ApiScope() { CurrentRoutinesKey().Set(previous_); }


}  // namespace crlog::sqlite
