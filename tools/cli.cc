// Dispatch, and the one mapping from status to exit code and message, for
// the crlog command line (tools/cli.h).
#include "tools/cli.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tools/command_line.h"
#include "tools/commands.h"
#include "tools/safe_text.h"

#ifndef CRLOG_VERSION
#define CRLOG_VERSION "unknown"
#endif

namespace crlog::tools {

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.code() == absl::StatusCode::kDataLoss) return kExitDataLoss;
  return kExitError;
}

int Main(const std::vector<std::string>& args, const Io& io) {
  absl::StatusOr<Invocation> inv = ParseCommandLine(args);
  if (!inv.ok()) {
    // The usage of the command the arguments name, or of crlog itself.
    const std::string help = args.empty() || args[0] == "help" ? "" : HelpText(args[0]);
    if (help.empty()) {
      io.err << "crlog: " << inv.status().message() << "\n\n" << HelpText("");
    } else {
      io.err << "crlog " << args[0] << ": " << inv.status().message() << "\n\n"
             << help << "\nRun 'crlog help' for every command.\n";
    }
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
