// Which SQLite crlog talks to. A host that bundles its own SQLite
// (better-sqlite3, most language bindings, mobile apps) hands its routines to
// the extension's entry point; every SQLite call crlog makes, engine code
// included, must go through those routines and never to another copy of
// SQLite in the process (two copies sharing one handle crash in malloc).
//
// Include this header instead of <sqlite3.h>. It includes <sqlite3ext.h>,
// whose macros turn every `sqlite3_xxx(...)` call into a call through the
// routines that are current on this thread:
// - inside the extension, each entry point from SQLite (the init function,
//   SQL functions, virtual-table methods, hooks) opens an ApiScope with the
//   routines of the SQLite that owns the connection, so a process holding two
//   SQLite copies keeps each connection on its own;
// - outside any scope, the process default: the first routines registered,
//   or, in a program that links SQLite (the CLI, tests, a program using
//   crlog/replica.h), the linked library's own routines (ProcessSqlite).
// The core never links libsqlite3; the extension's link fails on a direct
// call (-Wl,--no-undefined), which is how this rule is enforced.
//
// Thread rules: the scope is per thread; registration is thread-safe.
#ifndef CRLOG_UTIL_SQLITE_API_H_
#define CRLOG_UTIL_SQLITE_API_H_

#include <sqlite3ext.h>

#include "absl/status/statusor.h"

namespace crlog::sqlite {

// The oldest SQLite whose routines hold everything crlog calls
// (sqlite3_serialize and sqlite3_deserialize joined them in 3.39.0).
inline constexpr int kMinVersionNumber = 3039000;
inline constexpr const char* kMinVersion = "3.39.0";

// How many different SQLite libraries one process may hand crlog.
inline constexpr int kMaxApis = 4;

// Registers `api` (checked against kMinVersionNumber) and returns its slot,
// the same slot for the same routines. The first one registered becomes the
// process default. FailedPrecondition naming both versions for an older
// SQLite; ResourceExhausted past kMaxApis libraries.
absl::StatusOr<int> Register(const sqlite3_api_routines* api);

// The routines of `slot`.
const sqlite3_api_routines* InSlot(int slot);

// The routines in force on this thread (never null: a program that neither
// registered routines nor links a SQLite aborts with a
// message, since no SQLite call could work).
const sqlite3_api_routines* Current();

// Makes `slot`'s routines current on this thread until destroyed (nests).
class ApiScope {
 public:
  explicit ApiScope(int slot);
  ~ApiScope();
  ApiScope(const ApiScope&) = delete;
  ApiScope& operator=(const ApiScope&) = delete;

 private:
  const sqlite3_api_routines* previous_;
};

// The routines of the SQLite the program links, found through the
// process's sqlite3_* symbols (dlsym), or, when none is loaded (a program
// linked --as-needed that calls SQLite only through crlog), the system's
// libsqlite3.so.0. Null when neither is there. Looked up once.
const sqlite3_api_routines* ProcessSqlite();

}  // namespace crlog::sqlite

// Every sqlite3_xxx macro of <sqlite3ext.h> reads `sqlite3_api`.
#undef sqlite3_api
#define sqlite3_api (::crlog::sqlite::Current())

#endif  // CRLOG_UTIL_SQLITE_API_H_
