// crlog's help layout for CLI11 (tools/help_formatter.h).
#include "tools/help_formatter.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace crlog::tools {
namespace {

// Help fits a terminal of the usual width; the tables' descriptions start
// at one column, so a long option name pushes its description to the next
// line rather than out of line.
constexpr size_t kWidth = 80;
constexpr size_t kColumn = 22;

// `words` filled into lines of at most kWidth, each after `indent` spaces
// but the first, which continues a line already `first` characters long.
std::string Fill(const std::vector<std::string>& words, size_t first, size_t indent) {
  std::string out;
  size_t at = first;
  bool line_empty = true;
  for (const std::string& word : words) {
    if (word.empty()) continue;
    if (!line_empty && at + 1 + word.size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      at = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++at;
    }
    out += word;
    at += word.size();
    line_empty = false;
  }
  return out;
}

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
}

// A table row: `name` in the first column, `description` wrapped beside it.
std::string Row(const std::string& name, const std::string& description) {
  std::string out = "  " + name;
  if (description.empty()) return out + "\n";
  if (out.size() + 2 > kColumn) {
    out += "\n" + std::string(kColumn, ' ');
  } else {
    out += std::string(kColumn - out.size(), ' ');
  }
  return out + Fill(Words(description), kColumn, kColumn) + "\n";
}

bool IsFlag(const CLI::Option& option) { return option.get_type_name().empty(); }

// --limit N, --json
std::string WithValue(const CLI::Option& option, const std::string& name) {
  return IsFlag(option) ? name : name + " " + option.get_type_name();
}

// PK... takes many values at once; --pk V one each time it is given.
bool Repeats(const CLI::Option& option) {
  return option.get_items_expected_max() > 1 || option.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
}

// The options a command's usage line shows: all but -h, --help.
std::vector<const CLI::Option*> UsageOptions(const CLI::App& app) {
  return app.get_options([&app](const CLI::Option* o) { return o->nonpositional() && o != app.get_help_ptr(); });
}

// One option's part of the usage line, with what hangs on it: the options
// it excludes as alternatives ([--json | --oneline]), and the options that
// need it inside its brackets ([--table T [--pk V]...]). Those are marked
// `shown`, so they appear once.
std::string OptionUsage(const CLI::Option& option, const std::vector<const CLI::Option*>& all,
                        std::set<const CLI::Option*>* shown) {
  shown->insert(&option);
  std::string text = WithValue(option, OptionName(option));
  std::set<CLI::Option*> excludes = option.get_excludes();
  for (const CLI::Option* other : all) {
    if (shown->count(other) == 0 && excludes.count(const_cast<CLI::Option*>(other)) > 0) {
      shown->insert(other);
      text += " | " + WithValue(*other, OptionName(*other));
    }
  }
  for (const CLI::Option* other : all) {
    if (shown->count(other) == 0 && other->get_needs().count(const_cast<CLI::Option*>(&option)) > 0) {
      text += " " + OptionUsage(*other, all, shown);
    }
  }
  if (!option.get_required()) text = "[" + text + "]";
  if (Repeats(option)) text += "...";
  return text;
}

// "crlog log", the command as typed.
std::string CommandPath(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* parent = app->get_parent(); parent != nullptr; parent = parent->get_parent()) {
    path = parent->get_name() + " " + path;
  }
  return path;
}

}  // namespace

std::string OptionName(const CLI::Option& option) {
  if (!option.get_lnames().empty()) return "--" + option.get_lnames()[0];
  if (!option.get_snames().empty()) return "-" + option.get_snames()[0];
  return option.get_name(true, false);
}

std::string PositionalSynopsis(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::Option* p : command.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    std::string name = p->get_name(true, false);
    if (Repeats(*p)) name += "...";
    names.push_back(p->get_required() ? name : "[" + name + "]");
  }
  return absl::StrJoin(names, " ");
}

HelpFormatter::HelpFormatter() { label("Positionals", "arguments"); }

std::string HelpFormatter::make_usage(const CLI::App* app, std::string /*name*/) const {
  const std::string prefix = "usage: " + CommandPath(app) + " ";
  if (app->get_parent() == nullptr) return prefix + "COMMAND [ARGS]\n";
  std::vector<std::string> parts = {PositionalSynopsis(*app)};
  const std::vector<const CLI::Option*> options = UsageOptions(*app);
  std::set<const CLI::Option*> shown;
  for (const CLI::Option* option : options) {
    if (shown.count(option) == 0) parts.push_back(OptionUsage(*option, options, &shown));
  }
  return prefix + Fill(parts, prefix.size(), prefix.size()) + "\n";
}

std::string HelpFormatter::make_subcommand(const CLI::App* sub) const {
  std::vector<std::string> parts = {sub->get_name(), PositionalSynopsis(*sub)};
  for (const CLI::Option* option : UsageOptions(*sub)) {
    if (option->get_required()) parts.push_back(WithValue(*option, OptionName(*option)));
  }
  return Row(absl::StrJoin(parts.begin(), std::remove(parts.begin(), parts.end(), ""), " "),
             sub->get_description());
}

std::string HelpFormatter::make_option(const CLI::Option* opt, bool is_positional) const {
  if (is_positional) return Row(opt->get_name(true, false), opt->get_description());
  std::vector<std::string> names;
  for (const std::string& s : opt->get_snames()) names.push_back(WithValue(*opt, "-" + s));
  for (const std::string& l : opt->get_lnames()) names.push_back(WithValue(*opt, "--" + l));
  return Row(absl::StrJoin(names, ", "), opt->get_description());
}

std::string HelpFormatter::make_help(const CLI::App* app, std::string name, CLI::AppFormatMode /*mode*/) const {
  std::vector<std::string> sections = {make_usage(app, name)};
  if (!app->get_description().empty()) sections.push_back(Fill(Words(app->get_description()), 0, 0) + "\n");
  const std::vector<const CLI::Option*> positionals =
      app->get_options([](const CLI::Option* o) { return o->get_positional(); });
  if (!positionals.empty()) {
    std::string table = get_label("Positionals") + ":\n";
    for (const CLI::Option* p : positionals) table += make_option(p, true);
    sections.push_back(table);
  }
  const std::vector<const CLI::App*> commands = app->get_subcommands({});
  if (!commands.empty()) {
    std::string table = "commands:\n";
    for (const CLI::App* command : commands) table += make_subcommand(command);
    sections.push_back(table);
  }
  for (const std::string& group : app->get_groups()) {
    std::string table = group + ":\n";
    for (const CLI::Option* o :
         app->get_options([&group](const CLI::Option* o) { return o->nonpositional() && o->get_group() == group; })) {
      table += make_option(o, false);
    }
    if (table.size() > group.size() + 2) sections.push_back(table);
  }
  if (!app->get_footer().empty()) sections.push_back(app->get_footer());
  return absl::StrJoin(sections, "\n");
}

}  // namespace crlog::tools
