// The SQL functions of cr-sqlite's surface (crsql-compat.md, "Functions an
// app calls"). Each turns an absl::Status into a SQLite error whose message
// names the table or argument at fault.
#include "util/sqlite/api.h"

#include <cstdlib>
#include <string>

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/replica/meta_tables.h"
#include "engine/replica/signing_keys.h"
#include "util/sqlite/stmt.h"
#include "extension/connection.h"
#include "log/bundle.h"
#include "log/format.h"
#include "log/hash.h"
#include "log/signing.h"
#include "schema/packed_pk.h"

#ifndef CRLOG_VERSION
#define CRLOG_VERSION "0.1.0"
#endif
#ifndef CRLOG_GIT_SHA
#define CRLOG_GIT_SHA "unknown"
#endif

namespace crlog::extension {
namespace {


bool RequireReplica(sqlite3_context* ctx, Connection* conn) {
  if (absl::Status s = conn->Ready(); !s.ok()) {
    ResultError(ctx, s);
    return false;
  }
  return true;
}

// crsql_as_crr([schema,] table)
void AsCrr(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  if (argc < 1 || argc > 2 || sqlite3_value_type(argv[argc - 1]) != SQLITE_TEXT) {
    ResultError(ctx, absl::InvalidArgumentError(
                         "crsql_as_crr takes a table name, optionally after a schema name: "
                         "SELECT crsql_as_crr('todo')"));
    return;
  }
  std::string schema = argc == 2 ? TextArg(argv[0]) : "main";
  absl::Status s = conn->replica->MakeReplicated(conn->db, schema, TextArg(argv[argc - 1]));
  if (!s.ok()) return ResultError(ctx, s);
  sqlite3_result_text(ctx, "OK", -1, SQLITE_STATIC);
}

// crsql_as_table(table)
void AsTable(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  if (argc != 1 || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    return ResultError(ctx, absl::InvalidArgumentError("crsql_as_table takes a table name"));
  }
  absl::Status s = conn->replica->MakePlain(conn->db, TextArg(argv[0]));
  if (!s.ok()) return ResultError(ctx, s);
  sqlite3_result_text(ctx, "OK", -1, SQLITE_STATIC);
}

void SiteId(sqlite3_context* ctx, int, sqlite3_value**) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  const auto& site = conn->replica->site();
  sqlite3_result_blob(ctx, site.data(), static_cast<int>(site.size()), SQLITE_TRANSIENT);
}

void DbVersion(sqlite3_context* ctx, int, sqlite3_value**) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  auto v = conn->replica->DbVersion(conn->db);
  if (!v.ok()) return ResultError(ctx, v.status());
  sqlite3_result_int64(ctx, static_cast<int64_t>(*v));
}

// crsql_next_db_version([v]): the version the open transaction will commit
// at; with v, raises it to at least v.
void NextDbVersion(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  if (argc == 1) {
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_int64(argv[0]) < 0) {
      return ResultError(ctx, absl::InvalidArgumentError(
                                  "crsql_next_db_version(v) takes a non-negative integer"));
    }
    const auto requested = static_cast<uint64_t>(sqlite3_value_int64(argv[0]));
    // crsql_changes refuses a change past it, so a commit at it would be
    // one no peer takes.
    if (requested > log::format::kMaxCounter) {
      return ResultError(ctx, absl::InvalidArgumentError(absl::StrCat(
                                  "crsql_next_db_version(", requested, "): a db_version is at most ",
                                  log::format::kMaxCounter, "; ask for a smaller one")));
    }
    if (requested > conn->floors.at_commit) {
      conn->floors.at_commit = requested;
      // The writes made from now on take it; those made before keep theirs.
      conn->floors.from_op.emplace_back(conn->op_ordinal, requested);
    }
  }
  auto v = conn->replica->DbVersion(conn->db);
  if (!v.ok()) return ResultError(ctx, v.status());
  sqlite3_result_int64(ctx, static_cast<int64_t>(std::max<uint64_t>(*v + 1, conn->floors.at_commit)));
}

void Sha(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_result_text(ctx, "crlog " CRLOG_VERSION " " CRLOG_GIT_SHA, -1, SQLITE_STATIC);
}

void PackColumns(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc == 0 || argc > 255) {
    return ResultError(ctx, absl::InvalidArgumentError("crsql_pack_columns takes 1 to 255 values"));
  }
  std::string packed = schema::PackSqliteValues(argc, argv);
  sqlite3_result_blob(ctx, packed.data(), static_cast<int>(packed.size()), SQLITE_TRANSIENT);
}

// crsql_internal_sync_bit([x]): read, or set, the flag that keeps triggers
// from capturing writes made by a merge.
void SyncBit(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (argc == 1) conn->sync_bit = sqlite3_value_int64(argv[0]);
  sqlite3_result_int64(ctx, conn->sync_bit);
}

}  // namespace

absl::Status ApplySetting(Connection* conn, const std::string& name, const std::string& value) {
  if (name == "merge-equal-values" || name == "crlog-strict-columns") {
    int64_t flag;
    if (!absl::SimpleAtoi(value, &flag) || (flag != 0 && flag != 1)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " takes 0 or 1"));
    }
    if (conn->merger) {
      return absl::FailedPreconditionError(
          absl::StrCat("set ", name, " before or after a transaction that merges changes, not inside it"));
    }
  } else if (name == "crlog-max-event-bytes") {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(value, &n) || n < 64) {
      return absl::InvalidArgumentError("crlog-max-event-bytes takes a number of bytes, at least 64");
    }
    if (absl::Status s = conn->Ready(); !s.ok()) return s;
    conn->replica->set_max_event_bytes(n);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown setting '", name, "': crlog knows merge-equal-values, crlog-strict-columns and crlog-max-event-bytes"));
  }
  conn->config[name] = value;
  return absl::OkStatus();
}

absl::Status LoadSettings(Connection* conn) {
  auto has = engine::meta::HasCrsqlTables(conn->db);
  if (!has.ok() || !*has) return has.status();
  auto stmt = sqlite::Stmt::Prepare(
      conn->db, "SELECT substr(\"key\", 8), \"value\" FROM main.crsql_master WHERE \"key\" LIKE 'config.%'");
  if (!stmt.ok()) return stmt.status();
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const std::string name(stmt->ColumnText(0));
    if (absl::Status s = ApplySetting(conn, name, std::string(stmt->ColumnText(1))); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("crsql_master holds the setting 'config.", name, "': ", s.message(),
                                                 "; correct or delete that row without crlog loaded"));
    }
  }
  return absl::OkStatus();
}

namespace {

// crsql_config_set(name, value): applies the setting and keeps it in
// crsql_master as 'config.<name>', as cr-sqlite does, so every later
// connection to the database starts with it. Returns the value.
void ConfigSet(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (argc != 2 || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    return ResultError(ctx, absl::InvalidArgumentError("crsql_config_set(name, value)"));
  }
  const std::string name = TextArg(argv[0]);
  // Undone if it cannot be kept: a setting in force must be the one stored.
  std::optional<std::string> previous;
  if (auto it = conn->config.find(name); it != conn->config.end()) previous = it->second;
  const size_t previous_max_event_bytes = conn->replica ? conn->replica->max_event_bytes() : 0;
  if (absl::Status s = ApplySetting(conn, name, TextArg(argv[1])); !s.ok()) return ResultError(ctx, s);
  auto keep = [&]() -> absl::Status {
    auto has = engine::meta::HasCrsqlTables(conn->db);
    if (!has.ok()) return has.status();
    if (!*has) {
      if (absl::Status s = engine::meta::CreateCrsqlTables(conn->db); !s.ok()) return s;
    }
    auto stmt = sqlite::Stmt::Prepare(conn->db, "INSERT OR REPLACE INTO main.crsql_master(\"key\", \"value\") "
                                                "VALUES ('config.' || ?1, ?2)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, name);
    sqlite3_bind_value(stmt->get(), 2, argv[1]);
    return stmt->Run();
  };
  if (absl::Status s = keep(); !s.ok()) {
    if (previous) conn->config[name] = *previous;
    else conn->config.erase(name);
    if (conn->replica) conn->replica->set_max_event_bytes(previous_max_event_bytes);
    return ResultError(ctx, absl::Status(s.code(), absl::StrCat("crsql_config_set('", name,
                                                                "'): keeping it in crsql_master: ", s.message())));
  }
  sqlite3_result_value(ctx, argv[1]);
}

void ConfigGet(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (argc != 1) return ResultError(ctx, absl::InvalidArgumentError("crsql_config_get(name)"));
  std::string name = TextArg(argv[0]);
  auto it = conn->config.find(name);
  if (it != conn->config.end()) {
    int64_t n;
    if (absl::SimpleAtoi(it->second, &n)) return sqlite3_result_int64(ctx, n);
    return sqlite3_result_text(ctx, it->second.c_str(), -1, SQLITE_TRANSIENT);
  }
  if (name == "merge-equal-values" || name == "crlog-strict-columns") return sqlite3_result_int64(ctx, 0);
  if (name == "crlog-max-event-bytes" && conn->replica) {
    return sqlite3_result_int64(ctx, static_cast<int64_t>(conn->replica->max_event_bytes()));
  }
  ResultError(ctx, absl::InvalidArgumentError(absl::StrCat("unknown setting '", name, "'")));
}

// crsql_rows_impacted(): changes INSERT INTO crsql_changes applied in the open
// transaction.
void RowsImpacted(sqlite3_context* ctx, int, sqlite3_value**) {
  Connection* conn = Conn(ctx);
  sqlite3_result_int64(ctx, conn->merger ? static_cast<int64_t>(conn->merger->rows_impacted()) : 0);
}

// crsql_begin_alter([schema,] table) / crsql_commit_alter([schema,] table).
std::optional<std::string> AlterTable(sqlite3_context* ctx, int argc, sqlite3_value** argv, const char* fn) {
  if (argc < 1 || argc > 2 || sqlite3_value_type(argv[argc - 1]) != SQLITE_TEXT) {
    ResultError(ctx, absl::InvalidArgumentError(absl::StrCat(fn, " takes a table name, optionally after a schema name")));
    return std::nullopt;
  }
  if (argc == 2 && !absl::EqualsIgnoreCase(TextArg(argv[0]), "main")) {
    ResultError(ctx, absl::InvalidArgumentError(absl::StrCat(fn, ": crlog replicates tables of the main schema only")));
    return std::nullopt;
  }
  return TextArg(argv[argc - 1]);
}

void BeginAlter(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  auto table = AlterTable(ctx, argc, argv, "crsql_begin_alter");
  if (!table) return;
  if (absl::Status s = conn->replica->BeginAlter(conn->db, *table); !s.ok()) return ResultError(ctx, s);
  sqlite3_result_text(ctx, "OK", -1, SQLITE_STATIC);
}

void CommitAlter(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  auto table = AlterTable(ctx, argc, argv, "crsql_commit_alter");
  if (!table) return;
  // One transaction for the alter's bookkeeping and the merges it releases:
  // called outside BEGIN, each nested write would otherwise commit alone.
  if (absl::Status s = sqlite::Exec(conn->db, "SAVEPOINT crsql_commit_alter"); !s.ok()) return ResultError(ctx, s);
  auto merge_ready = [&]() -> absl::Status {
    auto ready = conn->replica->CommitAlter(conn->db, *table);
    if (!ready.ok()) return ready.status();
    if (ready->empty()) return absl::OkStatus();
    // Changes kept for columns the table lacked merge now, as if they had
    // just arrived.
    if (absl::Status s = EnsureMerger(conn); !s.ok()) return s;
    WritingScope writing(conn);
    for (const engine::OwnedChange& c : *ready) {
      if (auto added = conn->merger->Add(c.view(), 0, conn->floors.at_commit); !added.ok()) return added.status();
    }
    conn->floors.at_commit = std::max(conn->floors.at_commit, conn->merger->db_version());
    return absl::OkStatus();
  };
  absl::Status s = merge_ready();
  if (!s.ok()) {
    sqlite::Exec(conn->db, "ROLLBACK TO crsql_commit_alter; RELEASE crsql_commit_alter").IgnoreError();
    return ResultError(ctx, s);
  }
  if (absl::Status r = sqlite::Exec(conn->db, "RELEASE crsql_commit_alter"); !r.ok()) return ResultError(ctx, r);
  sqlite3_result_null(ctx);  // what cr-sqlite returns
}

// crlog_export(): every published event of this replica's log, in arrival
// order, as an event bundle (log/bundle.h).
void Export(sqlite3_context* ctx, int, sqlite3_value**) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  std::string bundle;
  absl::Status s = conn->replica->log().ForEach([&](const log::StoredEvent& e) {
    log::AppendToBundle(&bundle, e.bytes);
    return true;
  });
  if (!s.ok()) return ResultError(ctx, s);
  if (bundle.size() > static_cast<size_t>(sqlite3_limit(conn->db, SQLITE_LIMIT_LENGTH, -1))) {
    return ResultError(ctx, absl::ResourceExhaustedError(absl::StrCat(
                                "crlog_export: the log is ", bundle.size(),
                                " bytes, more than this connection's SQLITE_LIMIT_LENGTH")));
  }
  sqlite3_result_blob64(ctx, bundle.data(), bundle.size(), SQLITE_TRANSIENT);
}

// Before crlog_apply or crlog_retry_held folds on this connection: writes
// what INSERT INTO crsql_changes left cached, and gives the fold options.
absl::StatusOr<engine::FoldOptions> PrepareEngineFold(Connection* conn) {
  if (conn->merger) {
    WritingScope writing(conn);
    if (absl::Status s = conn->merger->Flush(); !s.ok()) return s;
  }
  engine::FoldOptions options;
  options.local_site = conn->replica->site();
  options.rules = conn->MergeRules();
  options.sync_bit = &conn->sync_bit;
  return options;
}

// crlog_apply(bundle): the engine's merge path. Verifies and stores the
// events this log lacks, folds them into the tables, and returns how many
// were new.
void Apply(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  if (argc != 1 || sqlite3_value_type(argv[0]) != SQLITE_BLOB) {
    return ResultError(ctx, absl::InvalidArgumentError(
                                "crlog_apply takes an event bundle (a BLOB, as crlog_export returns)"));
  }
  std::string_view bundle(static_cast<const char*>(sqlite3_value_blob(argv[0])), sqlite3_value_bytes(argv[0]));
  auto result = ApplyBundle(conn, bundle);
  if (!result.ok()) return ResultError(ctx, result.status());
  sqlite3_result_int64(ctx, static_cast<int64_t>(result->events_added));
}

// crlog_retry_held(): folds the events crlog_held lists again (after an
// alter relaxed the constraint that refused them, say); returns how many the
// tables took. Those still refused stay held. Inside a transaction it
// commits or rolls back with it.
void RetryHeld(sqlite3_context* ctx, int argc, sqlite3_value**) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  if (argc != 0) return ResultError(ctx, absl::InvalidArgumentError("crlog_retry_held takes no arguments"));
  auto options = PrepareEngineFold(conn);
  if (!options.ok()) return ResultError(ctx, options.status());
  auto folded = conn->replica->RetryHeld(conn->db, *options);
  if (!folded.ok()) return ResultError(ctx, folded.status());
  sqlite3_result_int64(ctx, static_cast<int64_t>(*folded));
}

// Signing (engine/replica/signing_keys.h; docs/sql.md, "Signing").

// A fixed-size id or key given as a BLOB of its bytes or TEXT of its hex.
template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> BytesArg(
    sqlite3_value* v, const char* what,
    absl::StatusOr<std::array<uint8_t, N>> (*from_hex)(std::string_view)) {
  if (sqlite3_value_type(v) == SQLITE_TEXT) return from_hex(TextArg(v));
  if (sqlite3_value_type(v) == SQLITE_BLOB && static_cast<size_t>(sqlite3_value_bytes(v)) == N) {
    return log::ToArray<N>(std::string_view(static_cast<const char*>(sqlite3_value_blob(v)), N));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("a ", what, " is a BLOB of ", N, " bytes or TEXT of ", 2 * N, " hex digits"));
}

// crlog_sign_with(pem): signs this replica's local events with the PEM
// private key from now on (NULL: stop); returns the public key's hex.
void SignWith(sqlite3_context* ctx, int, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  std::shared_ptr<const log::SigningKey> key;
  if (sqlite3_value_type(argv[0]) != SQLITE_NULL) {
    // TEXT, or a BLOB as the sqlite3 shell's readfile('site.key') gives.
    int type = sqlite3_value_type(argv[0]);
    if (type != SQLITE_TEXT && type != SQLITE_BLOB) {
      return ResultError(ctx, absl::InvalidArgumentError(
                                  "crlog_sign_with takes a PEM private key (TEXT or BLOB), or NULL to stop signing"));
    }
    std::string pem(static_cast<const char*>(sqlite3_value_blob(argv[0])), sqlite3_value_bytes(argv[0]));
    auto parsed = log::SigningKey::FromPem(pem);
    if (!parsed.ok()) {
      return ResultError(ctx, absl::Status(parsed.status().code(),
                                           absl::StrCat("crlog_sign_with: ", parsed.status().message())));
    }
    key = std::make_shared<const log::SigningKey>(*std::move(parsed));
  }
  auto trusted = engine::SignWith(conn->db, *conn->replica, key);
  if (!trusted.ok()) return ResultError(ctx, trusted.status());
  if (key == nullptr) return sqlite3_result_null(ctx);
  std::string hex = log::ToHex(key->public_key());
  sqlite3_result_text(ctx, hex.c_str(), static_cast<int>(hex.size()), SQLITE_TRANSIENT);
}

// crlog_trust(site, public_key [, replace [, signs_from_seq]]): this
// database trusts `public_key` for `site`'s events.
void Trust(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  if (argc < 2 || argc > 4) {
    return ResultError(ctx, absl::InvalidArgumentError(
                                "crlog_trust(site, public_key [, replace [, signs_from_seq]])"));
  }
  auto site = BytesArg<16>(argv[0], "site id", log::SiteIdFromHex);
  if (!site.ok()) return ResultError(ctx, site.status());
  auto key = BytesArg<32>(argv[1], "public key", log::PublicKeyFromHex);
  if (!key.ok()) return ResultError(ctx, key.status());
  bool replace = argc >= 3 && sqlite3_value_type(argv[2]) != SQLITE_NULL && sqlite3_value_int64(argv[2]) != 0;
  log::TrustedKey trusted{*key, 1};
  if (argc == 4) {
    if (sqlite3_value_type(argv[3]) != SQLITE_INTEGER || sqlite3_value_int64(argv[3]) < 1) {
      return ResultError(ctx, absl::InvalidArgumentError(
                                  "crlog_trust: signs_from_seq is the site's first signed seq, 1 or more"));
    }
    trusted.signs_from_seq = static_cast<uint64_t>(sqlite3_value_int64(argv[3]));
  }
  if (absl::Status s = engine::TrustKey(conn->db, *site, trusted, replace); !s.ok()) {
    return ResultError(ctx, s);
  }
  sqlite3_result_text(ctx, "OK", -1, SQLITE_STATIC);
}

// crlog_public_key(): the public key this replica signs with, or NULL.
void PublicKey(sqlite3_context* ctx, int, sqlite3_value**) {
  Connection* conn = Conn(ctx);
  if (!RequireReplica(ctx, conn)) return;
  auto key = conn->replica->signing_key();
  if (key == nullptr) return sqlite3_result_null(ctx);
  std::string hex = log::ToHex(key->public_key());
  sqlite3_result_text(ctx, hex.c_str(), static_cast<int>(hex.size()), SQLITE_TRANSIENT);
}

}  // namespace

int RegisterFunctions(sqlite3* db, Connection* conn) {
  struct Fn {
    const char* name;
    int argc;
    int flags;
    void (*fn)(sqlite3_context*, int, sqlite3_value**);
  };
  // Functions with side effects are DIRECTONLY (never from a trigger or
  // view); the ones the capture triggers call are INNOCUOUS so that
  // trusted_schema=OFF works.
  const int direct = SQLITE_UTF8 | SQLITE_DIRECTONLY;
  const int innocuous = SQLITE_UTF8 | SQLITE_INNOCUOUS;
  const Fn fns[] = {
      {"crsql_as_crr", -1, direct, AsCrr},
      {"crsql_as_table", 1, direct, AsTable},
      {"crsql_site_id", 0, innocuous, SiteId},
      {"crsql_db_version", 0, innocuous, DbVersion},
      {"crsql_next_db_version", -1, direct, NextDbVersion},
      {"crsql_sha", 0, innocuous | SQLITE_DETERMINISTIC, Sha},
      {"crsql_pack_columns", -1, innocuous | SQLITE_DETERMINISTIC, PackColumns},
      {"crsql_internal_sync_bit", -1, innocuous, SyncBit},
      {"crsql_config_set", 2, direct, ConfigSet},
      {"crsql_config_get", 1, innocuous, ConfigGet},
      {"crsql_rows_impacted", 0, innocuous, RowsImpacted},
      {"crsql_begin_alter", -1, direct, BeginAlter},
      {"crsql_commit_alter", -1, direct, CommitAlter},
      {"crsql_alter_begin", -1, direct, BeginAlter},
      {"crsql_alter_commit", -1, direct, CommitAlter},
      {"crlog_export", 0, direct, Export},
      {"crlog_apply", 1, direct, Apply},
      {"crlog_retry_held", 0, direct, RetryHeld},
      {"crlog_sign_with", 1, direct, SignWith},
      {"crlog_trust", -1, direct, Trust},
      {"crlog_public_key", 0, innocuous, PublicKey},
  };
  for (const Fn& f : fns) {
    int rc = CreateFunction(db, conn, f.name, f.argc, f.flags, f.fn);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}


absl::StatusOr<engine::Replica::ApplyResult> ApplyBundle(Connection* conn, std::string_view bundle) {
  if (!conn->replica) return conn->attach_error;
  auto events = log::UnbundleEvents(bundle);
  if (!events.ok()) return events.status();
  auto options = PrepareEngineFold(conn);
  if (!options.ok()) return options.status();
  const bool in_transaction = sqlite3_get_autocommit(conn->db) == 0;
  if (in_transaction) {
    // The events stay pending until the caller's transaction ends; joining
    // crsql_changes to it (a write of no rows) makes SQLite tell crlog how
    // it ends: xCommit publishes them, xRollback discards them.
    if (absl::Status s = sqlite::Exec(conn->db,
                              "INSERT INTO crsql_changes(\"table\", pk, cid, val, col_version, db_version, site_id, "
                              "cl, seq) SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0");
        !s.ok()) {
      return s;
    }
  }
  auto result = conn->replica->ApplyEvents(conn->db, *events, *options, conn->AppliedEvents());
  if (!result.ok()) return result.status();
  if (in_transaction && !result->pending.events.empty()) {
    conn->applied.emplace_back(conn->savepoint_depth, result->pending);
  }
  return result;
}

}  // namespace crlog::extension
