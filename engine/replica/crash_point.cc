// Crash injection for tests (engine/replica/crash_point.h).
#include "engine/replica/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace crlog::engine {

void CrashPoint(const char* name) {
  static const char* target = std::getenv("CRLOG_CRASH_AT");
  if (target == nullptr || std::strcmp(target, name) != 0) return;
  static std::atomic<long> skip{[] {
    const char* s = std::getenv("CRLOG_CRASH_SKIP");
    return s ? std::atol(s) : 0L;
  }()};
  if (skip.fetch_sub(1) > 0) return;
  kill(getpid(), SIGKILL);
}

}  // namespace crlog::engine
