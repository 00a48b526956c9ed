// What the benches that drive SQLite share: SQLite errors as statuses, and
// loading the built crlog extension (CRLOG_EXTENSION, the path of
// crsqlite.so, is defined by each such bench target).
#ifndef CRLOG_BENCH_SQLITE_BENCH_UTIL_H_
#define CRLOG_BENCH_SQLITE_BENCH_UTIL_H_

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace crlog::bench {

inline absl::Status SqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(absl::StrCat("sqlite ", std::string(what), ": ",
                                          db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

#ifdef CRLOG_EXTENSION
// Loads the built crsqlite.so into `db`, as an application does.
inline absl::Status LoadCrlogExtension(sqlite3* db) {
  sqlite3_enable_load_extension(db, 1);
  char* err = nullptr;
  if (sqlite3_load_extension(db, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err) == SQLITE_OK) {
    return absl::OkStatus();
  }
  absl::Status s = absl::InternalError(absl::StrCat("loading ", CRLOG_EXTENSION, ": ", err != nullptr ? err : "?"));
  sqlite3_free(err);
  return s;
}
#endif

}  // namespace crlog::bench

#endif  // CRLOG_BENCH_SQLITE_BENCH_UTIL_H_
