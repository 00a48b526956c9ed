// The crlog program: hands argv to tools::Main (tools/cli.h), which parses,
// runs the command and chooses the exit code.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "tools/output.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  crlog::tools::Io io{std::cout, std::cerr, isatty(STDERR_FILENO) == 1};
  return crlog::tools::Main(args, io);
}
