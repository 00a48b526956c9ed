// A program built against an installed crlog (tests/install/install_test.sh
// builds it with CMake's find_package and with pkg-config): two replicas in
// a scratch directory, a row written on one reaches the other through
// Export and Apply. Prints OK and exits 0 when it did.
//   consumer DIR
#include <sqlite3.h>

#include <cstdio>
#include <memory>
#include <string>

#include "crlog/replica.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "consumer: %s\n", what.c_str());
  return 1;
}

// The first column of the first row of `sql`, as text ("" when none).
std::string QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return "error: " + std::string(sqlite3_errmsg(db));
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage: consumer DIR");
  const std::string dir = argv[1];

  auto a = crlog::Replica::Open(dir + "/a.db");
  if (!a.ok()) return Fail("open a.db: " + a.status().ToString());
  const char* create = "CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT)";
  if (auto s = (*a)->Execute(create); !s.ok()) return Fail(s.ToString());
  if (auto s = (*a)->Replicate("todo"); !s.ok()) return Fail(s.ToString());
  if (auto s = (*a)->Execute("INSERT INTO todo VALUES (1, 'buy milk')"); !s.ok()) return Fail(s.ToString());
  auto bundle = (*a)->Export();
  if (!bundle.ok()) return Fail("export: " + bundle.status().ToString());

  auto b = crlog::Replica::Open(dir + "/b.db");
  if (!b.ok()) return Fail("open b.db: " + b.status().ToString());
  if (auto s = (*b)->Execute(create); !s.ok()) return Fail(s.ToString());
  if (auto s = (*b)->Replicate("todo"); !s.ok()) return Fail(s.ToString());
  auto stats = (*b)->Apply(*bundle);
  if (!stats.ok()) return Fail("apply: " + stats.status().ToString());

  const std::string title = QueryText((*b)->db(), "SELECT title FROM todo WHERE id = 1");
  if (title != "buy milk") return Fail("b.db's row 1 is '" + title + "', not 'buy milk'");
  if (stats->events_added == 0) return Fail("apply added no event");
  std::printf("OK\n");
  return 0;
}
