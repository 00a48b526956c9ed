// Verification of a whole log: every hash, every parent link, every site's
// seq chain, the indexes and the heads.
#ifndef CRLOG_LOG_VERIFY_H_
#define CRLOG_LOG_VERIFY_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "log/signing.h"
#include "crlog/log.h"
#include "log/store.h"

namespace crlog::log {

using crlog::VerifyReport;  // public: crlog/log.h

// Progress callback: events checked so far, of `total`.
using VerifyProgress = std::function<void(uint64_t done, uint64_t total)>;

// Checks the log and returns what it checked, or DataLoss naming the first
// fault in arrival order: which event (id, site, seq, position) and what is
// wrong (bytes that do not hash to the id, a non-canonical encoding, a
// missing parent, a parent stored after its child, a wrong lamport, a seq
// gap, an index entry with no event, heads that disagree with the events).
// With `trusted`, every native event of a site listed there must carry a
// good signature by the site's key from the key's signs_from_seq on (any
// signature it carries before that is checked too): an unsigned or wrongly
// signed event is DataLoss naming the event and the site.
absl::StatusOr<VerifyReport> Verify(const LogStore& store, const VerifyProgress& progress = {},
                                    const TrustedKeys& trusted = {});

}  // namespace crlog::log

#endif  // CRLOG_LOG_VERIFY_H_
