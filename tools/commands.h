// The crlog commands, callable without the command line (tests use them).
// Each writes its results to io.out and returns a status; turning a status
// into an exit code and a message is tools/cli.cc's job alone.
//
// Status codes a command returns, and what they mean to the user:
//   DataLoss           the log is damaged or was altered (exit 1)
//   anything else      the command could not run: not found, refused,
//                      I/O (exit 3)
// Messages name the path or event at fault and say what to do.
#ifndef CRLOG_TOOLS_COMMANDS_H_
#define CRLOG_TOOLS_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/output.h"

namespace crlog::tools {

// `crlog log PATH`.
struct LogOptions {
  std::string path;  // a log directory, or a database file whose log is PATH-crlog/
  enum class Format { kFull, kOneLine, kJson };
  Format format = Format::kFull;
  bool ops = false;  // also show each event's rows (text formats only)
  std::optional<uint64_t> limit;
  // Filters; an event is shown when it matches all that are given.
  std::optional<std::string> table;     // touches this table (rows or schema)
  std::vector<std::string> pk;          // with `table`: touches this row (plain values)
  std::optional<std::string> site;      // written by a site whose hex id starts so
  std::optional<int64_t> since_micros;  // writer's time >= (imports have none)
  std::optional<int64_t> until_micros;  // writer's time <
};
absl::Status RunLog(const LogOptions& options, const Io& io);

// `crlog verify PATH`.
struct VerifyOptions {
  std::string path;
};
absl::Status RunVerify(const VerifyOptions& options, const Io& io);

// `crlog keygen --out FILE`: a new Ed25519 signing key, written as PEM with
// mode 0600 (never over an existing file); prints the public key's hex.
struct KeygenOptions {
  std::string out;
};
absl::Status RunKeygen(const KeygenOptions& options, const Io& io);

// `crlog trust DB SITE_HEX KEY_HEX`: the database trusts KEY for SITE's
// events (crlog_keys; crlog/keys.h).
struct TrustOptions {
  std::string path;  // the database file
  std::string site;  // 32 hex digits
  std::string public_key;  // 64 hex digits
  bool replace = false;    // replace a different key already trusted
  uint64_t signs_from_seq = 1;
};
absl::Status RunTrust(const TrustOptions& options, const Io& io);

// `crlog archive-log DB`: renames DB-crlog/ to DB-crlog.stale-<UTC time>
// when it does not belong to the database at DB (the file was deleted or
// replaced); refuses (FailedPrecondition) when it does.
struct ArchiveLogOptions {
  std::string path;  // the database file (it need not exist)
};
absl::Status RunArchiveLog(const ArchiveLogOptions& options, const Io& io);

// `crlog demo DIR`.
struct DemoOptions {
  std::string dir;
  bool force = false;  // replace a log already in `dir`
};
absl::Status RunDemo(const DemoOptions& options, const Io& io);

// `crlog blame DB TABLE PK...`: who wrote each cell of a row.
struct BlameOptions {
  std::string path;  // the database file
  std::string table;
  std::vector<std::string> pk;  // plain values (tools/pk_text.h PlainValue)
  bool history = false;         // also every earlier value of each cell
  bool json = false;
};
absl::Status RunBlame(const BlameOptions& options, const Io& io);

// `crlog replay DB --at POINT --out FILE`: the tables at a point, as a new
// ordinary SQLite file.
struct ReplayCommandOptions {
  std::string path;  // the database file
  std::string at = "head";
  std::string out;
  bool force = false;  // replace a file already at `out`
};
absl::Status RunReplay(const ReplayCommandOptions& options, const Io& io);

// `crlog diff DB POINT_A POINT_B`: rows and cells that differ between points.
struct DiffOptions {
  std::string path;  // the database file
  std::string a, b;
  bool json = false;
};
absl::Status RunDiff(const DiffOptions& options, const Io& io);

// `crlog graph PATH`: the event DAG as Graphviz DOT.
struct GraphOptions {
  std::string path;
  std::optional<std::string> out;  // a file instead of stdout; *.svg is rendered by `dot`
  std::optional<uint64_t> limit;   // draw only the N newest events
};
absl::Status RunGraph(const GraphOptions& options, const Io& io);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_COMMANDS_H_
