// Verification of a whole log: every hash, every parent link, every site's
// seq chain, the indexes and the heads.
#ifndef CRLOG_LOG_VERIFY_H_
#define CRLOG_LOG_VERIFY_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "log/signing.h"
#include "log/store.h"

namespace crlog::log {

struct VerifyReport {
  uint64_t events = 0;    // published events checked
  uint64_t ops = 0;       // ops in them
  uint64_t sites = 0;     // distinct native sites
  uint64_t bytes = 0;     // canonical bytes hashed
  // Signatures checked against a trusted key (and found good).
  uint64_t signed_checked = 0;
  // Signed events of sites with no trusted key: nothing to check them with,
  // so they are counted, not trusted (and not a fault).
  uint64_t signed_unknown = 0;
};

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
