// Argument parsing, dispatch and the one mapping from status to exit code and
// message for the crlog command line (tools/cli.h).
#include "tools/cli.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/commands.h"

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
  -p, --ops       also show each event's rows: table, pk, causal length and
                  the cells (not with --json)
  -n N, --limit N show at most the N newest events

filters (an event is shown when it matches every one given):
  --table T       events that touch table T (its rows, or its schema)
  --pk V          with --table: events that touch the row whose primary key
                  is V; repeat for each column of a composite key. V is a
                  plain value: 42, -1.5, text (quote it in your shell)
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

struct CommandInfo {
  absl::string_view name;
  Invocation::Command command;
  const char* help;
};

constexpr CommandInfo kCommands[] = {
    {"log", Invocation::Command::kLog, kLogHelp},
    {"verify", Invocation::Command::kVerify, kVerifyHelp},
    {"demo", Invocation::Command::kDemo, kDemoHelp},
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
// seconds, a date (UTC midnight) or an RFC 3339 time.
absl::StatusOr<int64_t> ParseTime(absl::string_view flag, absl::string_view value) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) return seconds * 1000000;
  absl::Time t;
  std::string err;
  for (const char* format : {absl::RFC3339_full, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &t, &err)) return absl::ToUnixMicros(t);
  }
  return UsageError(absl::StrCat(flag, " wants a time: 2026-11-22, 2026-11-22T10:00:00Z or Unix seconds, not '",
                                 value, "'"));
}

// Parses the arguments after the command name into `inv`.
absl::Status ParseCommandArgs(const CommandInfo& cmd, const std::vector<std::string>& args,
                              Invocation* inv) {
  std::vector<std::string> positional;
  bool flags_done = false;
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
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
        known = true;
        if (arg == "--json" || arg == "--oneline") {
          LogOptions::Format f =
              arg == "--json" ? LogOptions::Format::kJson : LogOptions::Format::kOneLine;
          if (o.format != LogOptions::Format::kFull && o.format != f) {
            return UsageError("--json and --oneline cannot be combined");
          }
          o.format = f;
        } else if (arg == "--ops" || arg == "-p") {
          o.ops = true;
        } else if (arg == "-n" || arg == "--limit") {
          if (i + 1 >= args.size()) return UsageError(absl::StrCat(arg, " wants a number"));
          absl::StatusOr<uint64_t> n = ParseLimit(arg, args[++i]);
          if (!n.ok()) return n.status();
          o.limit = *n;
        } else if (absl::StartsWith(arg, "--limit=") || absl::StartsWith(arg, "-n")) {
          absl::string_view flag = arg[1] == 'n' ? "-n" : "--limit";
          absl::string_view value = arg.substr(arg[1] == 'n' ? 2 : 8);
          absl::StatusOr<uint64_t> n = ParseLimit(flag, value);
          if (!n.ok()) return n.status();
          o.limit = *n;
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
            absl::StatusOr<int64_t> t = ParseTime(arg, value);
            if (!t.ok()) return t.status();
            (arg == "--since" ? o.since_micros : o.until_micros) = *t;
          }
        } else {
          known = false;
        }
        break;
      }
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

  const char* what = cmd.command == Invocation::Command::kDemo ? "DIR" : "PATH";
  if (positional.empty()) return UsageError(absl::StrCat("missing ", what));
  if (positional.size() > 1) {
    return UsageError(absl::StrCat("one ", what, " expected, got ", positional.size(),
                                   " (unexpected '", positional[1], "')"));
  }
  switch (cmd.command) {
    case Invocation::Command::kLog:
      if (!inv->log.pk.empty() && !inv->log.table) return UsageError("--pk needs --table");
      if (inv->log.ops && inv->log.format == LogOptions::Format::kJson) {
        return UsageError("--ops shows rows as text and cannot be combined with --json");
      }
      inv->log.path = positional[0];
      break;
    case Invocation::Command::kVerify:
      inv->verify.path = positional[0];
      break;
    case Invocation::Command::kDemo:
      inv->demo.dir = positional[0];
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
  return cmd ? cmd->help : "";
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
           << (cmd ? cmd->help : kOverview);
    if (cmd) io.err << "\nRun 'crlog help' for every command.\n";
    io.err.flush();
    return kExitUsage;
  }

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
      status = RunLog(inv->log, io);
      break;
    case Invocation::Command::kVerify:
      name = "verify";
      status = RunVerify(inv->verify, io);
      break;
    case Invocation::Command::kDemo:
      name = "demo";
      status = RunDemo(inv->demo, io);
      break;
  }
  if (!status.ok()) {
    io.err << "crlog " << name << ": " << status.message() << "\n";
    io.err.flush();
  }
  return ExitCodeFor(status);
}

}  // namespace crlog::tools
