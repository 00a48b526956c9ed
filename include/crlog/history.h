// crlog/history.h: history questions about a replicated database from
// outside it: blame, replay, diff and verify.
#ifndef CRLOG_HISTORY_H_
#define CRLOG_HISTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace crlog {

class History {
 public:
  // Opens the database at `db_path` and its log read-only. NotFound when it
  // does not exist or is not replicated by crlog; FailedPrecondition when
  // its log is missing or belongs to another database.
  static absl::StatusOr<std::unique_ptr<History>> Open(const std::string& db_path);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  struct Impl;

 private:
  explicit History(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crlog

#endif  // CRLOG_HISTORY_H_
