// The per-process scratch directory of the fuzz targets (scratch_dir.h).
#include "tests/fuzz/scratch_dir.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace crlog::fuzz {
namespace {

std::string* dir = nullptr;

void RemoveAtExit() { RemoveAll(*dir); }

std::string MakeDir() {
  std::error_code ec;
  // scripts/fuzz.sh names one it removes itself: an input that crashes ends
  // the process before atexit could.
  const char* chosen = std::getenv("CRLOG_FUZZ_SCRATCH");
  std::filesystem::path base = chosen != nullptr ? chosen : "/dev/shm";
  if (chosen == nullptr &&
      (!std::filesystem::is_directory(base, ec) || access(base.c_str(), W_OK) != 0)) {
    base = std::filesystem::temp_directory_path();
  }
  std::string path = (base / "crlog-fuzz-XXXXXX").string();
  if (mkdtemp(path.data()) == nullptr) {
    std::perror(("crlog fuzz: cannot create a scratch directory in " + base.string()).c_str());
    std::abort();
  }
  return path;
}

}  // namespace

const std::string& ScratchDir() {
  if (dir == nullptr) {
    dir = new std::string(MakeDir());
    std::atexit(RemoveAtExit);
  }
  return *dir;
}

void RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace crlog::fuzz
