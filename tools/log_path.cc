// Where a command may write (tools/log_path.h).
#include "tools/log_path.h"

#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crlog/log.h"

namespace crlog::tools {
namespace fs = std::filesystem;

absl::Status CheckOutputPath(const std::string& path, std::string_view flag) {
  std::error_code ec;
  const fs::path full = fs::weakly_canonical(fs::absolute(path, ec), ec);
  auto refuse = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(flag), " '", path, "' ", why,
                                                   ": writing there would destroy a history; choose another path"));
  };
  const fs::path parent = full.parent_path();
  const std::string name = full.filename().string();
  if (HoldsLog(parent.string()) || DatabasePathOf(parent.string()).has_value() ||
      name == kLmdbDataFile || name == "lock.mdb") {
    return refuse(absl::StrCat("is inside the log directory '", parent.string(), "'"));
  }
  if (HoldsLog(full.string())) return refuse("is a log directory");
  for (const char* suffix : {"-wal", "-journal", "-shm"}) {
    if (!absl::EndsWith(name, suffix)) continue;
    const std::string database = full.string().substr(0, full.string().size() - std::strlen(suffix));
    if (fs::is_regular_file(database, ec)) {
      return refuse(absl::StrCat("is a companion file of the database '", database, "'"));
    }
  }
  if (fs::is_regular_file(full, ec) && HoldsLog(LogPathFor(full.string()))) {
    return refuse(absl::StrCat("is a database with a log ('", LogPathFor(full.string()), "')"));
  }
  return absl::OkStatus();
}

}  // namespace crlog::tools
