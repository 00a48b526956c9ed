// The crlog command line as a parser declares it (CLI11): each command with
// its arguments and options, bound to the options struct its function takes
// (tools/commands.h). The help and the usage errors come from the same
// declarations, so what `--help` shows is what the parser accepts.
#ifndef CRLOG_TOOLS_COMMAND_LINE_H_
#define CRLOG_TOOLS_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/commands.h"

namespace crlog::tools {

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

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_COMMAND_LINE_H_
