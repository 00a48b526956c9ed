// The process-wide registry of open environments: LMDB forbids opening one
// env twice in a process (closing either would drop the other's locks), so
// every LogStore on a path shares the one env (log/store.h, "Contract").
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "log/store_internal.h"

namespace crlog::log {
namespace {

absl::Mutex registry_mu;
absl::flat_hash_map<std::string, std::weak_ptr<LogStore::Env>>& Registry() {
  static auto* registry = new absl::flat_hash_map<std::string, std::weak_ptr<LogStore::Env>>();
  return *registry;
}

}  // namespace

absl::StatusOr<std::shared_ptr<LogStore::Env>> SharedEnv(
    const std::string& canonical, const StoreOptions& options,
    const std::function<absl::Status(LogStore::Env&)>& open) {
  absl::MutexLock lock(&registry_mu);
  auto& registry = Registry();
  if (auto it = registry.find(canonical); it != registry.end()) {
    if (auto env = it->second.lock()) {
      if (env->read_only && !options.read_only) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the log at '", canonical,
            "' is already open read-only in this process; close it before opening it for writing"));
      }
      return env;
    }
  }

  // The deleter closes a registered env under the registry lock, so a
  // concurrent Open never sees a half-closed env for the same path. An env
  // that failed to open was never registered and is closed here, where the
  // lock is already held.
  std::shared_ptr<LogStore::Env> env(new LogStore::Env(), [](LogStore::Env* e) {
    if (e->registered) {
      absl::MutexLock lock(&registry_mu);
      auto& reg = Registry();
      if (auto it = reg.find(e->path); it != reg.end() && it->second.expired()) reg.erase(it);
    }
    delete e;
  });
  env->path = canonical;
  env->read_only = options.read_only;
  env->map_size = options.map_size;
  if (absl::Status s = open(*env); !s.ok()) return s;
  env->registered = true;
  registry[canonical] = env;
  return env;
}

}  // namespace crlog::log
