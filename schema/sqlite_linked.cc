// For programs that link SQLite (the crlog CLI, tests, benchmarks): crlog's
// code reaches the linked library through its routines table, which SQLite
// hands to every auto-extension (schema/sqlite_api.h). Linked as an object
// library, so the registration below always runs; the extension never links
// this file.
#include <sqlite3.h>

#include <mutex>

namespace crlog::sqlite {

// From schema/sqlite_api.h, whose macros would reroute the calls below.
void SetLinkedFallback(const sqlite3_api_routines* (*fallback)());

namespace {

const sqlite3_api_routines* linked_api = nullptr;

int Capture(sqlite3*, char**, const sqlite3_api_routines* api) {
  linked_api = api;
  return SQLITE_OK;
}

// The entry point auto_extension takes has no routines parameter in its
// declared type; SQLite calls it with three arguments.
using EntryPoint = void (*)();

const sqlite3_api_routines* LinkedApi() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The real functions, not the routines table: this is how the table is
    // found.
    sqlite3_auto_extension(reinterpret_cast<EntryPoint>(&Capture));
    sqlite3* db = nullptr;
    sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr);
    sqlite3_close_v2(db);
    sqlite3_cancel_auto_extension(reinterpret_cast<EntryPoint>(&Capture));
  });
  return linked_api;
}

const bool registered = (SetLinkedFallback(&LinkedApi), true);

}  // namespace
}  // namespace crlog::sqlite
