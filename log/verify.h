// Verification of a whole log: every hash, every parent link, every site's
// seq chain, the indexes and the heads.
#ifndef CRLOG_LOG_VERIFY_H_
#define CRLOG_LOG_VERIFY_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "log/store.h"

namespace crlog::log {

struct VerifyReport {
  uint64_t events = 0;    // published events checked
  uint64_t ops = 0;       // ops in them
  uint64_t sites = 0;     // distinct native sites
  uint64_t bytes = 0;     // canonical bytes hashed
};

// Progress callback: events checked so far, of `total`.
using VerifyProgress = std::function<void(uint64_t done, uint64_t total)>;

// Checks the log and returns what it checked, or DataLoss naming the first
// fault in arrival order: which event (id, site, seq, position) and what is
// wrong (bytes that do not hash to the id, a non-canonical encoding, a
// missing parent, a parent stored after its child, a wrong lamport, a seq
// gap, an index entry with no event, heads that disagree with the events).
absl::StatusOr<VerifyReport> Verify(const LogStore& store, const VerifyProgress& progress = {});

}  // namespace crlog::log

#endif  // CRLOG_LOG_VERIFY_H_
