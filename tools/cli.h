// The crlog command line: parses arguments into a command, runs it, and maps
// the outcome to an exit code and a message, once, here.
//
// Exit codes:
//   0  ok
//   1  verification failed, or the log is damaged (a DataLoss status)
//   2  usage error: unknown command, bad flag, missing or extra argument
//   3  any other error: not found, refused, I/O
#ifndef CRLOG_TOOLS_CLI_H_
#define CRLOG_TOOLS_CLI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace crlog::tools {

enum ExitCode : int {
  kExitOk = 0,
  kExitDataLoss = 1,
  kExitUsage = 2,
  kExitError = 3,
};

// What the command line asks for.
struct Invocation {
  enum class Command { kHelp, kVersion, kLog, kVerify, kDemo, kGraph, kBlame, kReplay, kDiff, kKeygen, kTrust, kArchiveLog };
  Command command = Command::kHelp;
  std::string help_topic;  // kHelp: a command name, or "" for the overview
  LogOptions log;
  VerifyOptions verify;
  DemoOptions demo;
  KeygenOptions keygen;
  TrustOptions trust;
  ArchiveLogOptions archive_log;
  GraphOptions graph;
  BlameOptions blame;
  ReplayCommandOptions replay;
  DiffOptions diff;
};

// Parses `args` (argv without the program name). A usage error is
// InvalidArgument with a message for the user.
absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& args);

// The help text of `command` ("" for the overview of all commands); empty
// when there is no such command.
std::string HelpText(const std::string& command);

// The exit code for a command's outcome (not for usage errors, which are
// always kExitUsage): OK 0, DataLoss 1, anything else 3.
int ExitCodeFor(const absl::Status& status);

// Runs `crlog args...` and returns the exit code. Results go to io.out;
// errors, usage on error and progress go to io.err.
int Main(const std::vector<std::string>& args, const Io& io);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_CLI_H_
