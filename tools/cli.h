// The crlog command line: runs the command tools/command_line.h parsed from
// the arguments, and maps the outcome to an exit code and a message, once,
// here.
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
#include "tools/command_line.h"
#include "tools/output.h"

namespace crlog::tools {

enum ExitCode : int {
  kExitOk = 0,
  kExitDataLoss = 1,
  kExitUsage = 2,
  kExitError = 3,
};

// The exit code for a command's outcome (not for usage errors, which are
// always kExitUsage): OK 0, DataLoss 1, anything else 3.
int ExitCodeFor(const absl::Status& status);

// Runs `crlog args...` and returns the exit code. Results go to io.out;
// errors, usage on error and progress go to io.err.
int Main(const std::vector<std::string>& args, const Io& io);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_CLI_H_
