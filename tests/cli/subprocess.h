// Runs a program the way a shell would, capturing its stdout, stderr and exit
// code. Used to test the crlog binary as a user meets it.
#ifndef CRLOG_TESTS_CLI_SUBPROCESS_H_
#define CRLOG_TESTS_CLI_SUBPROCESS_H_

#include <string>
#include <vector>

namespace crlog::cli_test {

struct RunResult {
  int exit_code = -1;  // -1 when the program did not exit normally
  std::string out;
  std::string err;
};

// Runs `program` with `args` (argv[1..]), stdin from /dev/null, stdout and
// stderr into files under `scratch_dir`, and waits for it.
RunResult Run(const std::string& program, const std::vector<std::string>& args,
              const std::string& scratch_dir);

}  // namespace crlog::cli_test

#endif  // CRLOG_TESTS_CLI_SUBPROCESS_H_
