// The layout of crlog's help, as a CLI11 formatter: every part of it is
// built from what the commands declare (tools/command_line.cc), so the help
// cannot drift from what the parser accepts.
//
//   usage: crlog log PATH [--json | --oneline] [--ops] [--limit N]   git style:
//                    [--table T [--pk V]...] ...                       from the options
//   show the log's events, newest first                                 the description
//   arguments: / options: / commands:                                   tables, wrapped
//   ...                                                                 the footer
#ifndef CRLOG_TOOLS_HELP_FORMATTER_H_
#define CRLOG_TOOLS_HELP_FORMATTER_H_

#include <string>

#include <CLI/CLI.hpp>

namespace crlog::tools {

class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter();

  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override;
  std::string make_usage(const CLI::App* app, std::string name) const override;
  std::string make_subcommand(const CLI::App* sub) const override;
  std::string make_option(const CLI::Option* opt, bool is_positional) const override;
};

// The positionals `command` takes as its usage names them: "DB POINT_A
// POINT_B", "DB TABLE PK...", "[COMMAND]".
std::string PositionalSynopsis(const CLI::App& command);

// The name an option goes by in messages and the usage line: its first long
// name (--limit), else its short one (-o), else its positional name (PATH).
std::string OptionName(const CLI::Option& option);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_HELP_FORMATTER_H_
