// Time travel from SQL (docs/sql.md, "History"):
//
//   SELECT crlog_replay('2026-11-22T07:00:00Z', 'then.db');  -- a new file
//   SELECT crlog_attach_at('2026-11-22T07:00:00Z', 'then');  -- a schema
//   SELECT * FROM then.todo;
//
// crlog_attach_at replays into an in-memory database and hands it to SQLite
// with sqlite3_deserialize(..., SQLITE_DESERIALIZE_READONLY): the schema is
// read-only whatever the connection's flags (a `file:...?mode=ro` URI would
// depend on URI filenames being enabled), and DETACH or closing the
// connection frees it, so nothing is left on disk to clean up.
#include "util/sqlite/api.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/replica/meta_tables.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "util/sqlite/stmt.h"
#include "extension/connection.h"
#include "util/sqlite/quote.h"

namespace crlog::extension {
namespace {


// The error of `fn`, its message prefixed with the call so a failure inside
// a longer script says which call failed.
absl::Status Named(const char* fn, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(fn, ": ", s.message()));
}

// crlog_replay(point, path): the replicated tables as they stood at `point`
// in a new SQLite file at `path`; returns the number of events folded.
void Replay(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (absl::Status s = conn->Ready(); !s.ok()) return ResultError(ctx, s);
  if (argc != 2 || sqlite3_value_type(argv[0]) != SQLITE_TEXT || sqlite3_value_type(argv[1]) != SQLITE_TEXT ||
      sqlite3_value_bytes(argv[1]) == 0) {
    return ResultError(ctx, absl::InvalidArgumentError(
                                "crlog_replay takes a point and the path of a new file: "
                                "SELECT crlog_replay('head', 'copy.db')"));
  }
  auto point = ResolvePointHere(conn, TextArg(argv[0]));
  if (!point.ok()) return ResultError(ctx, Named("crlog_replay", point.status()));
  auto stats = engine::ReplayToFile(conn->replica->log(), *point, TextArg(argv[1]), ReplayOptionsFor(conn));
  if (!stats.ok()) return ResultError(ctx, Named("crlog_replay", stats.status()));
  sqlite3_result_int64(ctx, static_cast<int64_t>(stats->folded));
}

// crlog_attach_at(point, schema): the replicated tables at `point`,
// attached read-only as `schema`; returns the number of events folded.
void AttachAt(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (absl::Status s = conn->Ready(); !s.ok()) return ResultError(ctx, s);
  if (argc != 2 || sqlite3_value_type(argv[0]) != SQLITE_TEXT || sqlite3_value_type(argv[1]) != SQLITE_TEXT ||
      sqlite3_value_bytes(argv[1]) == 0) {
    return ResultError(ctx, absl::InvalidArgumentError(
                                "crlog_attach_at takes a point and a schema name: "
                                "SELECT crlog_attach_at('head', 'then')"));
  }
  std::string schema = TextArg(argv[1]);
  std::string lower = absl::AsciiStrToLower(schema);
  if (lower == "main" || lower == "temp") {
    return ResultError(ctx, absl::InvalidArgumentError(absl::StrCat(
                                "crlog_attach_at: '", schema, "' is SQLite's own schema; name a new one")));
  }
  // Before the replay, which may be long: a name in use fails now.
  for (int i = 0; sqlite3_db_name(conn->db, i) != nullptr; ++i) {
    if (absl::AsciiStrToLower(sqlite3_db_name(conn->db, i)) == lower) {
      return ResultError(ctx, absl::FailedPreconditionError(absl::StrCat(
                                  "crlog_attach_at: a database is already attached as '", schema,
                                  "'; DETACH it first or choose another name")));
    }
  }
  auto point = ResolvePointHere(conn, TextArg(argv[0]));
  if (!point.ok()) return ResultError(ctx, Named("crlog_attach_at", point.status()));

  auto scratch = sqlite::OpenDb(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "opening a scratch database");
  if (!scratch.ok()) return ResultError(ctx, Named("crlog_attach_at", scratch.status()));
  auto stats = engine::ReplayInto(conn->replica->log(), *point, scratch->get(), ReplayOptionsFor(conn));
  if (!stats.ok()) return ResultError(ctx, Named("crlog_attach_at", stats.status()));
  absl::Status s = engine::DropHistoryTables(scratch->get());
  if (s.ok()) s = sqlite::Exec(scratch->get(), "VACUUM");
  if (!s.ok()) return ResultError(ctx, Named("crlog_attach_at", s));
  sqlite3_int64 size = 0;
  unsigned char* image = sqlite3_serialize(scratch->get(), "main", &size, 0);
  if (image == nullptr) {
    return ResultError(ctx, absl::ResourceExhaustedError(
                                "crlog_attach_at: out of memory copying the replayed database; "
                                "write it to a file with crlog_replay and ATTACH that instead"));
  }

  // ATTACH runs as a nested statement; SQLite allows it inside a function
  // call, in or out of a transaction.
  std::string attach = absl::StrCat("ATTACH ':memory:' AS ", sqlite::QuoteIdentifier(schema));
  if (absl::Status a = sqlite::Exec(conn->db, attach); !a.ok()) {
    sqlite3_free(image);
    return ResultError(ctx, Named("crlog_attach_at", a));
  }
  int rc = sqlite3_deserialize(conn->db, schema.c_str(), image, size, size,
                           SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
  if (rc != SQLITE_OK) {
    // sqlite3_deserialize frees the image on failure too.
    absl::Status d = sqlite::SqliteError(conn->db, rc, absl::StrCat("loading the replay into '", schema, "'"));
    sqlite::Exec(conn->db, absl::StrCat("DETACH ", sqlite::QuoteIdentifier(schema))).IgnoreError();
    return ResultError(ctx, Named("crlog_attach_at", d));
  }
  sqlite3_result_int64(ctx, static_cast<int64_t>(stats->folded));
}

}  // namespace

absl::StatusOr<engine::Point> ResolvePointHere(Connection* conn, std::string_view text) {
  // "head" is what this database has committed.
  auto heads = engine::meta::ReadHeads(conn->db);
  if (!heads.ok()) return heads.status();
  return engine::ResolvePoint(conn->replica->log(), conn->replica->site(), *heads, text);
}

engine::ReplayOptions ReplayOptionsFor(Connection* conn) {
  engine::ReplayOptions options;
  options.local_site = conn->replica->site();
  options.rules = conn->MergeRules();
  return options;
}

int RegisterReplayFunctions(sqlite3* db, Connection* conn) {
  // Both write (a file, or the connection's schema list): DIRECTONLY, never
  // from a trigger or view.
  const int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
  int rc = CreateFunction(db, conn, "crlog_replay", 2, flags, Replay);
  if (rc == SQLITE_OK) {
    rc = CreateFunction(db, conn, "crlog_attach_at", 2, flags, AttachAt);
  }
  return rc;
}

}  // namespace crlog::extension
