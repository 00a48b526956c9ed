// Argument parsing, dispatch and the one mapping from status to exit code and
// message for the crlog command line (tools/cli.h).
#include "tools/cli.h"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crlog/time.h"
#include "tools/commands.h"
#include "tools/safe_text.h"

#ifndef CRLOG_VERSION
#define CRLOG_VERSION "unknown"
#endif

namespace crlog::tools {
namespace {

constexpr char kOverview[] =
    R"(usage: crlog COMMAND [ARGS]

commands:
  log PATH        show the log's events, newest first
  verify PATH     check every hash, parent link, seq chain and index of a log
  demo DIR        write an example log into DIR
  keygen --out FILE
                  make a site's Ed25519 signing key; prints its public key
  trust DB SITE KEY
                  make the database trust KEY for SITE's signed events
  blame DB TABLE PK...
                  who wrote each cell of a row, and when (--history: every
                  earlier value too)
  replay DB --at POINT --out FILE
                  the replicated tables as they stood at POINT, as a new
                  ordinary SQLite file
  diff DB POINT_A POINT_B
                  the rows and cells that differ between two points
  graph PATH      draw the event DAG: Graphviz DOT, or SVG with --out F.svg
  archive-log DB  move aside a log left behind by a deleted database file
  help [COMMAND]  show this overview, or a command's help

PATH is a log directory (app.db-crlog/) or a database file (app.db), whose
log is the directory app.db-crlog/ beside it. Logs are opened read-only.

options:
  -h, --help      show help (also after a command: crlog log --help)
  --version       show crlog's version

exit status: 0 ok, 1 verification failed or log damaged, 2 usage error,
3 other error (not found, I/O)
)";

constexpr char kLogHelp[] =
    R"(usage: crlog log PATH [--json | --oneline] [--ops] [-n N | --limit N]
                 [--table T [--pk V]...] [--site HEX] [--since TIME] [--until TIME]

Shows the log's published events, newest first (latest arrival first), like
`git log`: id, kind, site, seq, lamport, time (UTC), parents (short ids), op
count, and group membership when the event is part of a group. Import events
show the sites their changes came from instead of a site and seq. An event
whose bytes do not hash to its id stops the listing with exit 1.

PATH is a log directory (app.db-crlog/) or a database file (app.db), whose
log is app.db-crlog/ beside it. The log is opened read-only and never created.

options:
  --json          one JSON array of event objects, for scripts: position,
                  hash, kind, site, seq, lamport, time_micros, time, parents,
                  ops, group, origins
  --oneline       one line per event: short id, kind, site:seq, lamport,
                  time, op count, and the parents of a merge
  -p, --ops       also show what each op did, one line each:
                  "table (pk) column: old -> new", the old value being the
                  cell's just before the event in this replica's arrival
                  order; inserts, deletes and resurrections are named, and a
                  write that lost to a concurrent one is marked. Needs the
                  database (PATH app.db, or a log directory beside it) and
                  replays its history once; for a bare log the rows are
                  shown as written. With --json: a "changes" array per event
                  (table, pk, column, change, old, new, lost, now)
  -n N, --limit N show at most the N newest events

filters (an event is shown when it matches every one given):
  --table T       events that touch table T (its rows, or its schema)
  --pk V          with --table: events that touch the row whose primary key
                  is V; repeat for each column of a composite key. V is a
                  plain value: 42, -1.5, text, '42' (text), X'00ff' (blob)
  --site HEX      events written by the site whose hex id starts with HEX
                  (an import matches when one of its origins does)
  --since TIME    events the writer stamped at or after TIME, and
  --until TIME    before TIME: 2026-11-22, 2026-11-22T10:00:00Z, or Unix
                  seconds. Imports carry no time and never match these.
)";

constexpr char kVerifyHelp[] =
    R"(usage: crlog verify PATH

Checks the whole log: every event's bytes hash to its id and are canonical,
every parent is stored before its child, lamports are right, each site's
seq chain has no gaps, and the indexes and heads agree with the events.
Prints a summary and exits 0, or prints the first fault (the event's id,
site, seq and position) and exits 1. Shows progress on stderr when stderr is
a terminal and the log is large.

Given a database file, also checks signatures against the keys the database
trusts (see `crlog trust`): an unsigned or wrongly signed event of a site
with a trusted key fails verification.

PATH is a log directory (app.db-crlog/) or a database file (app.db), whose
log is app.db-crlog/ beside it. The log is opened read-only.
)";

constexpr char kDemoHelp[] =
    R"(usage: crlog demo DIR [--force]

Writes an example log into DIR (created if needed): two sites, alice and bob,
editing a todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER)
table on concurrent branches, a merge event whose parents are both heads, and
an import from a history-free cr-sqlite peer. Every run writes the same
events, with the same ids. Then try `crlog log DIR` and `crlog verify DIR`.

options:
  -f, --force     replace a log already in DIR (only its data.mdb and
                  lock.mdb are removed)
)";

constexpr char kGraphHelp[] =
    R"(usage: crlog graph PATH [--out FILE] [-n N | --limit N]

Draws the log's event DAG as Graphviz DOT on stdout: one node per event,
one edge per parent link (parent -> child), so you see where sites' histories
diverged and where merges joined them. Each site has its own colour (derived
from its id, the same in every drawing) and an entry in the legend. A node
shows the short id, site:seq, lamport, kind, op count and time; merges (two
or more parents) have a double border, heads a thick black one and the word
HEAD; imports are dashed and striped in the colours of the sites their
changes came from. Events of one lamport stand side by side.

PATH is a log directory (app.db-crlog/) or a database file (app.db), whose
log is app.db-crlog/ beside it. The log is opened read-only.

options:
  -o FILE, --out FILE  write to FILE instead of stdout; when FILE ends in
                       .svg, Graphviz's `dot` (on PATH) renders it
                       (apt-get install graphviz)
  -n N, --limit N      draw only the N newest events; a parent left out is
                       shown as a small "... ID" node
)";

constexpr char kPointHelp[] =
    R"(DB is the replicated database file (app.db); its log app.db-crlog/ is read
beside it. Both are opened read-only.

POINT is one of:
  head              what the database holds now
  HEX               an event id, or an unambiguous prefix (4+ hex digits)
  SITE:SEQ          a site's SEQ-th event (SITE: its id or a prefix)
  TIME              what this replica had received by then (its arrival
                    order, not the writers' clocks): 2026-11-22,
                    2026-11-22T07:00:00Z, or @1763794800 (Unix seconds)
An event point means the event and everything it had seen.
)";

constexpr char kBlameHelp[] =
    R"(usage: crlog blame DB TABLE PK... [--history] [--json]

For every cell of the row of TABLE whose primary key is PK (one value per
pk column, as plain values: 42, -1.5, text; '42' in single quotes is text,
X'00ff' a blob), shows its value, the event that wrote it (short id), the
site that wrote it (short) and when: the writer's clock, or for an import
(which carries none) the time this replica received it, marked (arrived).
A deleted row shows the event that deleted it. Answers from the database's
clock: it does not walk the log.

options:
  --history       also every value each cell (and the row's existence) held
                  here, oldest first, by replaying the row
  --json          one JSON object: table, pk, exists, causal_length,
                  existence, cells (and history with --history)

DB is the replicated database file (app.db); its log app.db-crlog/ is read
beside it. Both are opened read-only.
)";

constexpr char kReplayHelp[] =
    R"(usage: crlog replay DB --at POINT --out FILE [--force]

Writes a new, ordinary SQLite file holding the replicated tables as they
stood at POINT, with the schema they had then, rebuilt from the log alone.
`--at head` gives exactly today's tables. Prints the tables and rows
written. Shows progress on stderr when stderr is a terminal and the log is
large.

options:
  --at POINT      the point (default: head)
  -o FILE, --out FILE
                  the file to write; it must not exist
  -f, --force     replace FILE if it exists (never DB or its log)

)";

constexpr char kDiffHelp[] =
    R"(usage: crlog diff DB POINT_A POINT_B [--json]

Replays both points and shows what differs, table by table:
  table 'items' row (3): price 10 -> 12        a cell that differs
  table 'items' + row (4): name='pear', ...    a row only at POINT_B
  table 'items' - row (5): name='fig', ...     a row only at POINT_A
  + table 'tags' (only at B)                   a table only at one point
  table 'items': + column 'note' (only at B)   a column only at one point

options:
  --json          one JSON object, for scripts

)";

constexpr char kKeygenHelp[] =
    R"(usage: crlog keygen --out FILE

Makes a new Ed25519 signing key for a site and writes it to FILE as an
unencrypted PEM private key, readable by its owner only (mode 0600). Never
overwrites a file. Prints the public key (64 hex digits) on stdout: give
that to the operators of the replicas that should trust this site.

Start signing with SQL on the site's database (each process that writes it):
  SELECT crlog_sign_with(readfile('FILE'));

options:
  -o FILE, --out FILE   where to write the private key (required)
)";

constexpr char kTrustHelp[] =
    R"(usage: crlog trust DB SITE KEY [--replace] [--from-seq N]

Makes the database DB trust the Ed25519 public key KEY (64 hex digits, as
`crlog keygen` printed it) for the site SITE (32 hex digits, the site's
`SELECT hex(crsql_site_id())`). From then on `crlog verify DB` fails on any
event of SITE that is unsigned or not signed with KEY. Get KEY from the
site's operator directly, not from a peer or a log.

options:
  --replace       replace a different key already trusted for SITE (events
                  signed with the old key then fail verification)
  --from-seq N    SITE began to sign at its N-th event: earlier ones may be
                  unsigned (default 1: every event must be signed)

DB is the replicated database file (app.db); it is written in one
transaction.
)";

constexpr char kArchiveLogHelp[] =
    R"(usage: crlog archive-log DB

Moves the log DB-crlog/ aside, to DB-crlog.stale-<UTC time>, when it does
not belong to the database DB: the database file was deleted or replaced
while its log stayed behind, and crlog refuses to load on the new file
("the log belongs to another database"). Nothing is deleted: `crlog log`
still reads the archived history. A log that belongs to DB is never moved.
)";

struct CommandInfo {
  absl::string_view name;
  Invocation::Command command;
  const char* help;
};

constexpr CommandInfo kCommands[] = {
    {"log", Invocation::Command::kLog, kLogHelp},
    {"verify", Invocation::Command::kVerify, kVerifyHelp},
    {"demo", Invocation::Command::kDemo, kDemoHelp},
    {"keygen", Invocation::Command::kKeygen, kKeygenHelp},
    {"trust", Invocation::Command::kTrust, kTrustHelp},
    {"archive-log", Invocation::Command::kArchiveLog, kArchiveLogHelp},
    {"blame", Invocation::Command::kBlame, kBlameHelp},
    {"replay", Invocation::Command::kReplay, kReplayHelp},
    {"diff", Invocation::Command::kDiff, kDiffHelp},
    {"graph", Invocation::Command::kGraph, kGraphHelp},
};

const CommandInfo* FindCommand(absl::string_view name) {
  for (const CommandInfo& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool IsHelpFlag(absl::string_view arg) { return arg == "-h" || arg == "--help"; }

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

absl::StatusOr<uint64_t> ParseLimit(absl::string_view flag, absl::string_view value) {
  uint64_t n = 0;
  if (value.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(value[0])) ||
      !absl::SimpleAtoi(value, &n)) {
    return UsageError(
        absl::StrCat(flag, " wants a number of events (0 or more), not '", value, "'"));
  }
  return n;
}

// A time for --since / --until, as microseconds since the Unix epoch: Unix
// seconds, or any time a point may be (crlog/time.h).
absl::StatusOr<int64_t> ParseFlagTime(absl::string_view flag, absl::string_view value) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) return seconds * 1000000;
  if (std::optional<int64_t> micros = crlog::ParseTime(std::string_view(value.data(), value.size()))) return *micros;
  return UsageError(absl::StrCat(flag, " wants a time: 2026-11-22, 2026-11-22T10:00:00Z or Unix seconds, not '",
                                 value, "'"));
}

// -n N, --limit N, -nN or --limit=N at args[*i]: sets *limit (stepping *i
// past a separate value) and returns true; false for any other flag.
absl::StatusOr<bool> TakeLimit(const std::vector<std::string>& args, size_t* i, std::optional<uint64_t>* limit) {
  absl::string_view arg = args[*i];
  absl::StatusOr<uint64_t> n;
  if (arg == "-n" || arg == "--limit") {
    if (*i + 1 >= args.size()) return UsageError(absl::StrCat(arg, " wants a number"));
    n = ParseLimit(arg, args[++*i]);
  } else if (absl::StartsWith(arg, "--limit=") || absl::StartsWith(arg, "-n")) {
    const bool short_flag = arg[1] == 'n';
    n = ParseLimit(short_flag ? "-n" : "--limit", arg.substr(short_flag ? 2 : 8));
  } else {
    return false;
  }
  if (!n.ok()) return n.status();
  *limit = *n;
  return true;
}

// One of `names` (e.g. -o, --out) with its value, at args[*i]: FLAG VALUE,
// or --FLAG=VALUE for a long one. Sets *value (stepping *i past a separate
// value) and returns true; false for any other flag. A missing value is a
// usage error: "FLAG `wants`".
absl::StatusOr<bool> TakeValue(const std::vector<std::string>& args, size_t* i,
                               std::initializer_list<absl::string_view> names, absl::string_view wants,
                               std::string* value) {
  absl::string_view arg = args[*i];
  for (absl::string_view name : names) {
    if (arg == name) {
      if (*i + 1 >= args.size()) return UsageError(absl::StrCat(arg, " ", wants));
      *value = args[++*i];
      return true;
    }
    if (absl::StartsWith(name, "--") && absl::StartsWith(arg, name) && arg.size() > name.size() &&
        arg[name.size()] == '=') {
      *value = std::string(arg.substr(name.size() + 1));
      return true;
    }
  }
  return false;
}

// Whether `arg` is a number (a negative pk value such as -1, not a flag).
bool IsNumber(absl::string_view arg) {
  double d;
  return arg.size() >= 2 && (absl::ascii_isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.') &&
         absl::SimpleAtod(arg, &d);
}

// The positional arguments of blame, replay and diff.
absl::Status TakeHistoryArgs(Invocation::Command command, const std::vector<std::string>& positional,
                             Invocation* inv) {
  if (positional.empty()) return UsageError("missing DB");
  switch (command) {
    case Invocation::Command::kBlame:
      if (positional.size() < 2) return UsageError("missing TABLE");
      if (positional.size() < 3) return UsageError("missing PK: give one value per primary-key column");
      inv->blame.path = positional[0];
      inv->blame.table = positional[1];
      inv->blame.pk.assign(positional.begin() + 2, positional.end());
      return absl::OkStatus();
    case Invocation::Command::kReplay:
      if (positional.size() > 1) {
        return UsageError(absl::StrCat("one DB expected, got ", positional.size(), " (unexpected '",
                                       positional[1], "')"));
      }
      if (inv->replay.out.empty()) return UsageError("missing --out FILE");
      inv->replay.path = positional[0];
      return absl::OkStatus();
    case Invocation::Command::kDiff:
      if (positional.size() < 3) return UsageError("diff wants DB POINT_A POINT_B");
      if (positional.size() > 3) {
        return UsageError(absl::StrCat("diff wants DB POINT_A POINT_B (unexpected '", positional[3], "')"));
      }
      inv->diff.path = positional[0];
      inv->diff.a = positional[1];
      inv->diff.b = positional[2];
      return absl::OkStatus();
    default:
      return absl::InternalError("not a history command");
  }
}

// Parses the arguments after the command name into `inv`.
absl::Status ParseCommandArgs(const CommandInfo& cmd, const std::vector<std::string>& args,
                              Invocation* inv) {
  std::vector<std::string> positional;
  bool flags_done = false;
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-' ||
        (cmd.command == Invocation::Command::kBlame && IsNumber(arg))) {
      positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (IsHelpFlag(arg)) {
      inv->command = Invocation::Command::kHelp;
      inv->help_topic = std::string(cmd.name);
      return absl::OkStatus();
    }
    bool known = false;
    switch (cmd.command) {
      case Invocation::Command::kLog: {
        LogOptions& o = inv->log;
        absl::StatusOr<bool> limit = TakeLimit(args, &i, &o.limit);
        if (!limit.ok()) return limit.status();
        known = true;
        if (*limit) break;
        if (arg == "--json" || arg == "--oneline") {
          LogOptions::Format f =
              arg == "--json" ? LogOptions::Format::kJson : LogOptions::Format::kOneLine;
          if (o.format != LogOptions::Format::kFull && o.format != f) {
            return UsageError("--json and --oneline cannot be combined");
          }
          o.format = f;
        } else if (arg == "--ops" || arg == "-p") {
          o.ops = true;
        } else if (arg == "--table" || arg == "--pk" || arg == "--site" || arg == "--since" ||
                   arg == "--until") {
          if (i + 1 >= args.size()) return UsageError(absl::StrCat(arg, " wants a value"));
          std::string value(args[++i]);
          if (arg == "--table") {
            o.table = value;
          } else if (arg == "--pk") {
            o.pk.push_back(value);
          } else if (arg == "--site") {
            if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
              return UsageError(absl::StrCat("--site wants hex digits of a site id, not '", value, "'"));
            }
            o.site = absl::AsciiStrToLower(value);
          } else {
            absl::StatusOr<int64_t> t = ParseFlagTime(arg, value);
            if (!t.ok()) return t.status();
            (arg == "--since" ? o.since_micros : o.until_micros) = *t;
          }
        } else {
          known = false;
        }
        break;
      }
      case Invocation::Command::kGraph: {
        GraphOptions& o = inv->graph;
        std::string out;
        absl::StatusOr<bool> taken = TakeValue(args, &i, {"-o", "--out"}, "wants a file name", &out);
        if (taken.ok() && *taken) {
          o.out = std::move(out);
        } else if (taken.ok()) {
          taken = TakeLimit(args, &i, &o.limit);
        }
        if (!taken.ok()) return taken.status();
        known = *taken;
        if (o.out && o.out->empty()) return UsageError("--out wants a file name");
        break;
      }
      case Invocation::Command::kBlame:
        known = true;
        if (arg == "--history") {
          inv->blame.history = true;
        } else if (arg == "--json") {
          inv->blame.json = true;
        } else {
          known = false;
        }
        break;
      case Invocation::Command::kReplay: {
        ReplayCommandOptions& o = inv->replay;
        absl::StatusOr<bool> taken = TakeValue(args, &i, {"--at"}, "wants a POINT", &o.at);
        if (taken.ok() && !*taken) taken = TakeValue(args, &i, {"-o", "--out"}, "wants a file name", &o.out);
        if (!taken.ok()) return taken.status();
        known = *taken;
        if (!known && (arg == "--force" || arg == "-f")) {
          o.force = true;
          known = true;
        }
        break;
      }
      case Invocation::Command::kDiff:
        known = arg == "--json";
        if (known) inv->diff.json = true;
        break;
      case Invocation::Command::kKeygen: {
        absl::StatusOr<bool> taken = TakeValue(args, &i, {"-o", "--out"}, "wants a file name", &inv->keygen.out);
        if (!taken.ok()) return taken.status();
        known = *taken;
        break;
      }
      case Invocation::Command::kTrust:
        known = true;
        if (arg == "--replace") {
          inv->trust.replace = true;
        } else if (arg == "--from-seq") {
          if (i + 1 >= args.size()) return UsageError("--from-seq wants a seq (1 or more)");
          absl::StatusOr<uint64_t> n = ParseLimit(arg, args[++i]);
          if (!n.ok() || *n == 0) return UsageError("--from-seq wants a seq (1 or more)");
          inv->trust.signs_from_seq = *n;
        } else {
          known = false;
        }
        break;
      case Invocation::Command::kDemo:
        if (arg == "--force" || arg == "-f") {
          inv->demo.force = true;
          known = true;
        }
        break;
      default:
        break;
    }
    if (!known) return UsageError(absl::StrCat("unknown flag '", arg, "'"));
  }

  if (cmd.command == Invocation::Command::kBlame || cmd.command == Invocation::Command::kReplay ||
      cmd.command == Invocation::Command::kDiff) {
    if (absl::Status s = TakeHistoryArgs(cmd.command, positional, inv); !s.ok()) return s;
    inv->command = cmd.command;
    return absl::OkStatus();
  }
  if (cmd.command == Invocation::Command::kKeygen) {
    if (!positional.empty()) return UsageError(absl::StrCat("unexpected '", positional[0], "': use --out FILE"));
    if (inv->keygen.out.empty()) return UsageError("missing --out FILE");
    inv->command = cmd.command;
    return absl::OkStatus();
  }
  if (cmd.command == Invocation::Command::kTrust) {
    if (positional.size() != 3) return UsageError("trust wants DB SITE KEY");
    inv->trust.path = positional[0];
    inv->trust.site = positional[1];
    inv->trust.public_key = positional[2];
    inv->command = cmd.command;
    return absl::OkStatus();
  }
  const char* what = cmd.command == Invocation::Command::kDemo ? "DIR" : "PATH";
  if (positional.empty()) return UsageError(absl::StrCat("missing ", what));
  if (positional.size() > 1) {
    return UsageError(absl::StrCat("one ", what, " expected, got ", positional.size(),
                                   " (unexpected '", positional[1], "')"));
  }
  switch (cmd.command) {
    case Invocation::Command::kLog:
      if (!inv->log.pk.empty() && !inv->log.table) return UsageError("--pk needs --table");
      inv->log.path = positional[0];
      break;
    case Invocation::Command::kArchiveLog:
      inv->archive_log.path = positional[0];
      break;
    case Invocation::Command::kVerify:
      inv->verify.path = positional[0];
      break;
    case Invocation::Command::kDemo:
      inv->demo.dir = positional[0];
      break;
    case Invocation::Command::kGraph:
      inv->graph.path = positional[0];
      break;
    default:
      break;
  }
  inv->command = cmd.command;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& args) {
  Invocation inv;
  if (args.empty()) return UsageError("no command given");
  const std::string& first = args[0];
  if (IsHelpFlag(first) || first == "help") {
    inv.command = Invocation::Command::kHelp;
    if (first == "help" && args.size() >= 2) {
      if (args.size() > 2) return UsageError("help takes at most one COMMAND");
      if (!FindCommand(args[1])) {
        return UsageError(absl::StrCat("no help for unknown command '", args[1], "'"));
      }
      inv.help_topic = args[1];
    }
    return inv;
  }
  if (first == "--version") {
    inv.command = Invocation::Command::kVersion;
    return inv;
  }
  const CommandInfo* cmd = FindCommand(first);
  if (cmd == nullptr) {
    if (!first.empty() && first[0] == '-') {
      return UsageError(absl::StrCat("unknown flag '", first, "'"));
    }
    return UsageError(absl::StrCat("unknown command '", first, "'"));
  }
  absl::Status s = ParseCommandArgs(*cmd, args, &inv);
  if (!s.ok()) return s;
  return inv;
}

std::string HelpText(const std::string& command) {
  if (command.empty()) return kOverview;
  const CommandInfo* cmd = FindCommand(command);
  if (cmd == nullptr) return "";
  const bool takes_points = cmd->command == Invocation::Command::kReplay ||
                            cmd->command == Invocation::Command::kDiff;
  return takes_points ? absl::StrCat(cmd->help, kPointHelp) : cmd->help;
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.code() == absl::StatusCode::kDataLoss) return kExitDataLoss;
  return kExitError;
}

int Main(const std::vector<std::string>& args, const Io& io) {
  absl::StatusOr<Invocation> inv = ParseCommandLine(args);
  if (!inv.ok()) {
    const CommandInfo* cmd = args.empty() ? nullptr : FindCommand(args[0]);
    std::string prefix = cmd ? absl::StrCat("crlog ", cmd->name) : "crlog";
    io.err << prefix << ": " << inv.status().message() << "\n\n"
           << (cmd ? HelpText(std::string(cmd->name)) : kOverview);
    if (cmd) io.err << "\nRun 'crlog help' for every command.\n";
    io.err.flush();
    return kExitUsage;
  }

  // Cell values come from peers: whatever they hold, none may reach the
  // reader's terminal as a control sequence (JSON escapes its own).
  TerminalSafeStream safe_out(io.out);
  const Io safe{safe_out.stream(), io.err, io.err_is_terminal};
  absl::Status status;
  absl::string_view name;
  switch (inv->command) {
    case Invocation::Command::kHelp:
      io.out << HelpText(inv->help_topic);
      io.out.flush();
      return kExitOk;
    case Invocation::Command::kVersion:
      io.out << "crlog " << CRLOG_VERSION << "\n";
      io.out.flush();
      return kExitOk;
    case Invocation::Command::kLog:
      name = "log";
      status = RunLog(inv->log, safe);
      break;
    case Invocation::Command::kVerify:
      name = "verify";
      status = RunVerify(inv->verify, safe);
      break;
    case Invocation::Command::kDemo:
      name = "demo";
      status = RunDemo(inv->demo, safe);
      break;
    case Invocation::Command::kKeygen:
      name = "keygen";
      status = RunKeygen(inv->keygen, safe);
      break;
    case Invocation::Command::kTrust:
      name = "trust";
      status = RunTrust(inv->trust, safe);
      break;
    case Invocation::Command::kArchiveLog:
      name = "archive-log";
      status = RunArchiveLog(inv->archive_log, safe);
      break;
    case Invocation::Command::kBlame:
      name = "blame";
      status = RunBlame(inv->blame, safe);
      break;
    case Invocation::Command::kReplay:
      name = "replay";
      status = RunReplay(inv->replay, safe);
      break;
    case Invocation::Command::kDiff:
      name = "diff";
      status = RunDiff(inv->diff, safe);
      break;
    case Invocation::Command::kGraph:
      name = "graph";
      status = RunGraph(inv->graph, safe);
      break;
  }
  if (!status.ok()) {
    io.err << "crlog " << name << ": " << status.message() << "\n";
    io.err.flush();
  }
  return ExitCodeFor(status);
}

}  // namespace crlog::tools
