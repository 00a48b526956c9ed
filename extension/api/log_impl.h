// What a crlog::Log holds: a log store of its own, or the engine's.
#ifndef CRLOG_EXTENSION_API_LOG_IMPL_H_
#define CRLOG_EXTENSION_API_LOG_IMPL_H_

#include <memory>

#include "crlog/log.h"
#include "log/store.h"

namespace crlog {

struct Log::Impl {
  std::unique_ptr<log::LogStore> owned;  // null when `store` is a replica's
  log::LogStore* store = nullptr;
  bool read_only = false;
};

}  // namespace crlog

#endif  // CRLOG_EXTENSION_API_LOG_IMPL_H_
