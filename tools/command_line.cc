// The crlog command line, declared for CLI11 (tools/command_line.h).
#include "tools/command_line.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crlog/time.h"
#include "tools/help_formatter.h"

#ifndef CRLOG_VERSION
#define CRLOG_VERSION "unknown"
#endif

namespace crlog::tools {
namespace {

constexpr char kPath[] =
    "a log directory (app.db-crlog/) or a database file (app.db), whose log is the directory "
    "app.db-crlog/ beside it; opened read-only, never created";
constexpr char kDb[] =
    "the replicated database file (app.db); it and its log app.db-crlog/ beside it are opened "
    "read-only";

constexpr char kOverviewFooter[] =
    R"(PATH is a log directory (app.db-crlog/) or a database file (app.db), whose
log is the directory app.db-crlog/ beside it. Logs are opened read-only.

exit status: 0 ok, 1 verification failed or log damaged, 2 usage error,
3 other error (not found, I/O)
)";

constexpr char kLogFooter[] =
    R"(Events are listed latest arrival first, like `git log`: id, kind, site, seq,
lamport, time (UTC), parents (short ids), op count, and group membership when
the event is part of a group. Import events show the sites their changes came
from instead of a site and seq. An event whose bytes do not hash to its id
stops the listing with exit 1.
)";

constexpr char kVerifyFooter[] =
    R"(Checks the whole log: every event's bytes hash to its id and are canonical,
every parent is stored before its child, lamports are right, each site's
seq chain has no gaps, and the indexes and heads agree with the events.
Prints a summary and exits 0, or prints the first fault (the event's id,
site, seq and position) and exits 1. Shows progress on stderr when stderr is
a terminal and the log is large.

Given a database file, also checks signatures against the keys the database
trusts (see `crlog trust`): an unsigned or wrongly signed event of a site
with a trusted key fails verification.
)";

constexpr char kDemoFooter[] =
    R"(Two sites, alice and bob, edit a todo(id INTEGER PRIMARY KEY NOT NULL, title
TEXT, done INTEGER) table on concurrent branches; a merge event has both
heads as parents, and an import comes from a history-free cr-sqlite peer.
Every run writes the same events, with the same ids. Then try
`crlog log DIR` and `crlog verify DIR`.
)";

constexpr char kGraphFooter[] =
    R"(One node per event, one edge per parent link (parent -> child), so you see
where sites' histories diverged and where merges joined them. Each site has
its own colour (derived from its id, the same in every drawing) and an entry
in the legend. A node shows the short id, site:seq, lamport, kind, op count
and time; merges (two or more parents) have a double border, heads a thick
black one and the word HEAD; imports are dashed and striped in the colours
of the sites their changes came from. Events of one lamport stand side by
side.
)";

constexpr char kPointFooter[] =
    R"(POINT is one of:
  head              what the database holds now
  HEX               an event id, or an unambiguous prefix (4+ hex digits)
  SITE:SEQ          a site's SEQ-th event (SITE: its id or a prefix)
  TIME              what this replica had received by then (its arrival
                    order, not the writers' clocks): 2026-11-22,
                    2026-11-22T07:00:00Z, or @1763794800 (Unix seconds)
An event point means the event and everything it had seen.
)";

constexpr char kBlameFooter[] =
    R"(For every cell of the row it shows the value, the event that wrote it
(short id), the site that wrote it (short) and when: the writer's clock, or
for an import (which carries none) the time this replica received it,
marked (arrived). A deleted row shows the event that deleted it. Answers
from the database's clock: it does not walk the log.
)";

constexpr char kReplayFooter[] =
    R"(The tables are rebuilt from the log alone, with the schema they had then;
`--at head` gives exactly today's tables. Prints the tables and rows
written. Shows progress on stderr when stderr is a terminal and the log is
large.
)";

constexpr char kDiffFooter[] =
    R"(Replays both points and shows what differs, table by table:
  table 'items' row (3): price 10 -> 12        a cell that differs
  table 'items' + row (4): name='pear', ...    a row only at POINT_B
  table 'items' - row (5): name='fig', ...     a row only at POINT_A
  + table 'tags' (only at B)                   a table only at one point
  table 'items': + column 'note' (only at B)   a column only at one point
)";

constexpr char kKeygenFooter[] =
    R"(The key is written as an unencrypted PEM private key, readable by its owner
only (mode 0600); an existing file is never overwritten. The public key (64
hex digits) goes to stdout: give that to the operators of the replicas that
should trust this site.

Start signing with SQL on the site's database (each process that writes it):
  SELECT crlog_sign_with(readfile('FILE'));
)";

constexpr char kTrustFooter[] =
    R"(From then on `crlog verify DB` fails on any event of SITE that is unsigned
or not signed with KEY. Get KEY from the site's operator directly, not from
a peer or a log. DB is written in one transaction.
)";

constexpr char kArchiveLogFooter[] =
    R"(Moves DB-crlog/ to DB-crlog.stale-<UTC time> when the database file was
deleted or replaced while its log stayed behind, and crlog refuses to load on
the new file ("the log belongs to another database"). Nothing is deleted:
`crlog log` still reads the archived history. A log that belongs to DB is
never moved.
)";

struct CommandName {
  const char* name;
  Invocation::Command command;
};

constexpr CommandName kCommands[] = {
    {"log", Invocation::Command::kLog},
    {"verify", Invocation::Command::kVerify},
    {"demo", Invocation::Command::kDemo},
    {"keygen", Invocation::Command::kKeygen},
    {"trust", Invocation::Command::kTrust},
    {"blame", Invocation::Command::kBlame},
    {"replay", Invocation::Command::kReplay},
    {"diff", Invocation::Command::kDiff},
    {"graph", Invocation::Command::kGraph},
    {"archive-log", Invocation::Command::kArchiveLog},
    {"help", Invocation::Command::kHelp},
};

// What each option's value must be, in the words of the message for a
// missing or malformed one: "--limit wants a number of events (0 or more)".
using Wants = absl::flat_hash_map<const CLI::Option*, std::string>;

// The parser's whole grammar, bound to `inv`.
class Grammar {
 public:
  explicit Grammar(Invocation* inv);

  CLI::App& app() { return app_; }

  // The message for a usage error the parser threw, naming the argument at
  // fault as the user typed it.
  std::string Message(const CLI::ParseError& error, const std::vector<std::string>& args) const;

 private:
  CLI::App* Command(const char* name, const char* summary, const std::string& footer);

  // A flag that takes a value: `set` takes it as typed and returns false
  // when it is not what the flag `wants`.
  CLI::Option* Value(CLI::App* command, const std::string& names, const std::string& type, const std::string& wants,
                     const std::string& description, std::function<bool(const std::string&)> set);

  // The command the arguments chose, or the program itself before one.
  const CLI::App& Chosen() const;

  CLI::App app_{"", "crlog"};
  Wants wants_;
};

bool ParseCount(const std::string& value, uint64_t* n) {
  return !value.empty() && absl::ascii_isdigit(static_cast<unsigned char>(value[0])) && absl::SimpleAtoi(value, n);
}

// A time for --since / --until, as microseconds since the Unix epoch: Unix
// seconds, or any time a point may be (crlog/time.h).
bool ParseFlagTime(const std::string& value, std::optional<int64_t>* micros) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    *micros = seconds * 1000000;
    return true;
  }
  *micros = crlog::ParseTime(value);
  return micros->has_value();
}

Grammar::Grammar(Invocation* inv) {
  // Set before any option or command is added: both take them from app_.
  app_.formatter(std::make_shared<HelpFormatter>());
  app_.option_defaults()->group("options")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app_.set_help_flag("-h,--help", "show help (also after a command: crlog log --help)");
  app_.set_version_flag("--version", CRLOG_VERSION, "show crlog's version");
  // One command per run, and a value that names a command (a table called
  // log) is still a value once a command is chosen.
  app_.require_subcommand(0, 1);
  app_.footer(kOverviewFooter);

  CLI::App* log = Command("log", "show the log's events, newest first", kLogFooter);
  log->add_option("PATH", inv->log.path, kPath)->required();
  CLI::Option* json = log->add_flag_callback(
      "--json", [inv] { inv->log.format = LogOptions::Format::kJson; },
      "one JSON array of event objects, for scripts: position, hash, kind, site, seq, lamport, time_micros, time, "
      "parents, ops, group, origins");
  CLI::Option* oneline = log->add_flag_callback(
      "--oneline", [inv] { inv->log.format = LogOptions::Format::kOneLine; },
      "one line per event: short id, kind, site:seq, lamport, time, op count, and the parents of a merge");
  json->excludes(oneline);
  log->add_flag("-p,--ops", inv->log.ops,
                "also show what each op did, one line each: \"table (pk) column: old -> new\", the old value being "
                "the cell's just before the event in this replica's arrival order; inserts, deletes and "
                "resurrections are named, and a write that lost to a concurrent one is marked. Needs the database "
                "(PATH app.db, or a log directory beside it) and replays its history once; for a bare log the rows "
                "are shown as written. With --json: a \"changes\" array per event (table, pk, column, change, old, "
                "new, lost, now)");
  Value(log, "-n,--limit", "N", "a number of events (0 or more)", "show at most the N newest events",
        [inv](const std::string& v) {
          uint64_t n = 0;
          if (!ParseCount(v, &n)) return false;
          inv->log.limit = n;
          return true;
        });
  log->option_defaults()->group("filters (an event is shown when it matches every one given)");
  CLI::Option* table = Value(log, "--table", "T", "a table name", "events that touch table T (its rows, or its schema)",
                             [inv](const std::string& v) {
                               inv->log.table = v;
                               return true;
                             });
  CLI::Option* pk = log->add_option("--pk", inv->log.pk,
                                    "with --table: events that touch the row whose primary key is V; repeat for each "
                                    "column of a composite key. V is a plain value: 42, -1.5, text, '42' (text), "
                                    "X'00ff' (blob)");
  // One value each time (--pk 1 2 is a pk and a stray 2), kept in order.
  pk->type_name("V")->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->needs(table);
  wants_[pk] = "a value";
  Value(log, "--site", "HEX", "hex digits of a site id",
        "events written by the site whose hex id starts with HEX (an import matches when one of its origins does)",
        [inv](const std::string& v) {
          if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
            return false;
          }
          inv->log.site = absl::AsciiStrToLower(v);
          return true;
        });
  constexpr char kTimeWants[] = "a time: 2026-11-22, 2026-11-22T10:00:00Z or Unix seconds";
  Value(log, "--since", "TIME", kTimeWants, "events the writer stamped at or after TIME, and",
        [inv](const std::string& v) { return ParseFlagTime(v, &inv->log.since_micros); });
  Value(log, "--until", "TIME", kTimeWants,
        "before TIME: 2026-11-22, 2026-11-22T10:00:00Z, or Unix seconds. Imports carry no time and never match these.",
        [inv](const std::string& v) { return ParseFlagTime(v, &inv->log.until_micros); });

  CLI::App* verify = Command("verify", "check every hash, parent link, seq chain and index of a log", kVerifyFooter);
  verify->add_option("PATH", inv->verify.path, kPath)->required();

  CLI::App* demo = Command("demo", "write an example log into DIR", kDemoFooter);
  demo->add_option("DIR", inv->demo.dir, "the directory to write the log into (created if needed)")->required();
  demo->add_flag("-f,--force", inv->demo.force,
                 "replace a log already in DIR (only its data.mdb and lock.mdb are removed)");

  CLI::App* keygen = Command("keygen", "make a site's Ed25519 signing key; prints its public key", kKeygenFooter);
  CLI::Option* key_out =
      keygen->add_option("-o,--out", inv->keygen.out, "where to write the private key")->type_name("FILE")->required();
  wants_[key_out] = "a file name";

  CLI::App* trust = Command("trust", "make the database trust KEY for SITE's signed events", kTrustFooter);
  trust->add_option("DB", inv->trust.path, "the replicated database file (app.db)")->required();
  trust->add_option("SITE", inv->trust.site, "the site: 32 hex digits, its `SELECT hex(crsql_site_id())`")
      ->required();
  trust->add_option("KEY", inv->trust.public_key, "the site's Ed25519 public key: 64 hex digits, as `crlog keygen` "
                                                  "printed it")
      ->required();
  trust->add_flag("--replace", inv->trust.replace,
                  "replace a different key already trusted for SITE (events signed with the old key then fail "
                  "verification)");
  Value(trust, "--from-seq", "N", "a seq (1 or more)",
        "SITE began to sign at its N-th event: earlier ones may be unsigned (default 1: every event must be signed)",
        [inv](const std::string& v) {
          uint64_t n = 0;
          if (!ParseCount(v, &n) || n == 0) return false;
          inv->trust.signs_from_seq = n;
          return true;
        });

  CLI::App* blame =
      Command("blame", "who wrote each cell of a row, and when (--history: every earlier value too)", kBlameFooter);
  blame->add_option("DB", inv->blame.path, kDb)->required();
  blame->add_option("TABLE", inv->blame.table, "the replicated table")->required();
  blame->add_option("PK", inv->blame.pk,
                    "the row's primary key, one value per pk column, as plain values: 42, -1.5, text; '42' in "
                    "single quotes is text, X'00ff' a blob")
      ->required();
  blame->add_flag("--history", inv->blame.history,
                  "also every value each cell (and the row's existence) held here, oldest first, by replaying the "
                  "row");
  blame->add_flag("--json", inv->blame.json,
                  "one JSON object: table, pk, exists, causal_length, existence, cells (and history with --history)");

  CLI::App* replay = Command("replay",
                             "the replicated tables as they stood at a point (--at POINT, default head), "
                             "as a new ordinary SQLite file",
                             absl::StrCat(kReplayFooter, "\n", kPointFooter));
  replay->add_option("DB", inv->replay.path, kDb)->required();
  CLI::Option* at = replay->add_option("--at", inv->replay.at, "the point (default: head)")->type_name("POINT");
  wants_[at] = "a POINT";
  CLI::Option* out =
      replay->add_option("-o,--out", inv->replay.out, "the file to write; it must not exist")->type_name("FILE")
          ->required();
  wants_[out] = "a file name";
  replay->add_flag("-f,--force", inv->replay.force, "replace FILE if it exists (never DB or its log)");

  CLI::App* diff = Command("diff", "the rows and cells that differ between two points",
                           absl::StrCat(kDiffFooter, "\n", kPointFooter));
  diff->add_option("DB", inv->diff.path, kDb)->required();
  diff->add_option("POINT_A", inv->diff.a, "the point to compare from")->required();
  diff->add_option("POINT_B", inv->diff.b, "the point to compare with")->required();
  diff->add_flag("--json", inv->diff.json, "one JSON object, for scripts");

  CLI::App* graph = Command("graph", "draw the event DAG: Graphviz DOT, or SVG with --out F.svg", kGraphFooter);
  graph->add_option("PATH", inv->graph.path, kPath)->required();
  Value(graph, "-o,--out", "FILE", "a file name",
        "write to FILE instead of stdout; when FILE ends in .svg, Graphviz's `dot` (on PATH) renders it (apt-get "
        "install graphviz)",
        [inv](const std::string& v) {
          if (v.empty()) return false;
          inv->graph.out = v;
          return true;
        });
  Value(graph, "-n,--limit", "N", "a number of events (0 or more)",
        "draw only the N newest events; a parent left out is shown as a small \"... ID\" node",
        [inv](const std::string& v) {
          uint64_t n = 0;
          if (!ParseCount(v, &n)) return false;
          inv->graph.limit = n;
          return true;
        });

  CLI::App* archive_log =
      Command("archive-log", "move aside a log left behind by a deleted database file", kArchiveLogFooter);
  archive_log->add_option("DB", inv->archive_log.path, "the database file (it need not exist)")->required();

  CLI::App* help = Command("help", "show this overview, or a command's help", "");
  help->add_option_function<std::string>(
          "COMMAND",
          [inv](const std::string& name) {
            if (std::none_of(std::begin(kCommands), std::end(kCommands),
                             [&name](const CommandName& c) { return name == c.name; })) {
              throw CLI::ValidationError(absl::StrCat("no help for unknown command '", name, "'"));
            }
            inv->help_topic = name;
          },
          "the command to describe");
}

CLI::App* Grammar::Command(const char* name, const char* summary, const std::string& footer) {
  CLI::App* command = app_.add_subcommand(name, summary);
  command->option_defaults()->group("options");
  // Again here, not inherited, so that -h, --help joins the options.
  command->set_help_flag("-h,--help", "show this help");
  command->footer(footer);
  return command;
}

CLI::Option* Grammar::Value(CLI::App* command, const std::string& names, const std::string& type,
                            const std::string& wants, const std::string& description,
                            std::function<bool(const std::string&)> set) {
  const std::string flag = names.substr(names.rfind(',') + 1);
  CLI::Option* option = command->add_option_function<std::string>(
      names,
      [flag, wants, set](const std::string& value) {
        if (!set(value)) throw CLI::ValidationError(absl::StrCat(flag, " wants ", wants, ", not '", value, "'"));
      },
      description);
  option->type_name(type);
  wants_[option] = wants;
  return option;
}

const CLI::App& Grammar::Chosen() const {
  std::vector<const CLI::App*> chosen = app_.get_subcommands([](const CLI::App* c) { return c->parsed(); });
  return chosen.empty() ? app_ : *chosen[0];
}

bool LooksLikeFlag(const std::string& arg) {
  double number;
  return arg.size() >= 2 && arg[0] == '-' && !absl::SimpleAtod(arg, &number);
}

std::string Grammar::Message(const CLI::ParseError& error, const std::vector<std::string>& args) const {
  const CLI::App& command = Chosen();
  const bool top = &command == &app_;
  const std::string positionals = PositionalSynopsis(command);
  // What the command takes, for a message about a positional.
  const std::string takes = positionals.empty() || positionals.find(' ') == std::string::npos
                                ? ""
                                : absl::StrCat(": ", command.get_name(), " wants ", positionals);
  const std::vector<const CLI::Option*> options = command.get_options();

  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    std::vector<std::string> extra = command.remaining();
    if (extra.empty()) extra = app_.remaining();
    if (!extra.empty()) {
      const std::string& arg = extra[0];
      if (LooksLikeFlag(arg)) return absl::StrCat("unknown flag '", arg, "'");
      if (top) return absl::StrCat("unknown command '", arg, "'");
      return absl::StrCat("unexpected '", arg, "'", takes);
    }
  }
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr) {
    for (const CLI::Option* o : options) {
      if (!o->get_required() || o->count() > 0) continue;
      if (o->get_positional()) return absl::StrCat("missing ", o->get_name(true, false), takes);
      return absl::StrCat("missing ", OptionName(*o), " ", o->get_type_name());
    }
  }
  // A flag short of its value is the last argument: nothing was left to take.
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr && !args.empty()) {
    const CLI::Option* o = command.get_option_no_throw(args.back());
    if (o != nullptr && wants_.contains(o)) return absl::StrCat(args.back(), " wants ", wants_.at(o));
  }
  if (dynamic_cast<const CLI::RequiresError*>(&error) != nullptr) {
    for (const CLI::Option* o : options) {
      if (o->count() == 0) continue;
      for (const CLI::Option* needed : o->get_needs()) {
        if (needed->count() == 0) return absl::StrCat(OptionName(*o), " needs ", OptionName(*needed));
      }
    }
  }
  if (dynamic_cast<const CLI::ExcludesError*>(&error) != nullptr) {
    for (const CLI::Option* o : options) {
      if (o->count() == 0) continue;
      for (const CLI::Option* other : o->get_excludes()) {
        if (other->count() > 0) {
          return absl::StrCat(OptionName(*o), " and ", OptionName(*other), " cannot be combined");
        }
      }
    }
  }
  return error.what();
}

absl::StatusOr<Invocation> Parse(const std::vector<std::string>& args) {
  Invocation inv;
  Grammar grammar(&inv);
  CLI::App& app = grammar.app();
  try {
    // CLI11 takes the arguments last first.
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  } catch (const CLI::CallForVersion&) {
    inv.command = Invocation::Command::kVersion;
    return inv;
  } catch (const CLI::Success&) {
    // --help: CLI11 asks for it before it looks at what it did not
    // recognise, but a bad flag is an error even beside --help.
    if (app.remaining_size(true) > 0) {
      return absl::InvalidArgumentError(grammar.Message(CLI::ExtrasError(app.remaining(true)), args));
    }
    inv.command = Invocation::Command::kHelp;
    std::vector<CLI::App*> chosen = app.get_subcommands();
    inv.help_topic = chosen.empty() ? "" : chosen[0]->get_name();
    return inv;
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(grammar.Message(e, args));
  }
  std::vector<CLI::App*> chosen = app.get_subcommands();
  if (chosen.empty()) return absl::InvalidArgumentError("no command given");
  for (const CommandName& c : kCommands) {
    if (chosen[0]->get_name() == c.name) inv.command = c.command;
  }
  return inv;
}

}  // namespace

absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& args) {
  // Declaring the grammar can only fail by a mistake in it, which every run
  // would meet; it is reported, not thrown past main.
  try {
    return Parse(args);
  } catch (const CLI::Error& e) {
    return absl::InternalError(absl::StrCat("the command line's grammar is wrong: ", e.what()));
  }
}

std::string HelpText(const std::string& command) {
  try {
    Invocation inv;
    Grammar grammar(&inv);
    if (command.empty()) return grammar.app().help();
    for (const CLI::App* c : grammar.app().get_subcommands({})) {
      if (c->get_name() == command) return c->help();
    }
  } catch (const CLI::Error&) {
  }
  return "";
}

}  // namespace crlog::tools
