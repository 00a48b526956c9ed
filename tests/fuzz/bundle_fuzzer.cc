// Fuzz target: the event bundle reader and what crlog_apply(bundle) does with
// its frames before folding them: log::UnbundleEvents, then
// LogStore::Append, which decodes every event and checks it against the log
// (seq chain, parents, lamport, groups). Each input gets a fresh log.
//
// Invariants, for every input:
// - no crash, out-of-bounds read or undefined behaviour;
// - the frames lie inside the bundle and bundle again into the same frames;
// - Append either stores every event or changes nothing (the log stays
//   empty), and a refusal says what is wrong;
// - what was stored reads back byte for byte under its id, appending it again
//   is a no-op, and the log passes log::Verify.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "log/bundle.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/store.h"
#include "log/verify.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/scratch_dir.h"

namespace crlog::log {
namespace {

void CheckFrames(std::string_view bundle, const std::vector<std::string_view>& frames) {
  size_t payload = 0;
  for (std::string_view f : frames) {
    CRLOG_FUZZ_CHECK(f.data() >= bundle.data() && f.data() + f.size() <= bundle.data() + bundle.size(),
                     "a frame points outside the bundle");
    payload += f.size() + 1;  // at least one length byte each
  }
  CRLOG_FUZZ_CHECK(payload <= bundle.size(), "the frames hold more bytes than the bundle");
  const std::vector<std::string> copies(frames.begin(), frames.end());
  const std::string again = BundleEvents(copies);
  auto reread = UnbundleEvents(again);
  CRLOG_FUZZ_CHECK(reread.ok() && *reread == frames, "the frames do not bundle again into themselves");
}

void CheckStored(const LogStore& store, const std::vector<std::string>& events,
                 const std::vector<AppendResult>& results) {
  CRLOG_FUZZ_CHECK(results.size() == events.size(), "Append reports a result per event");
  for (size_t i = 0; i < events.size(); ++i) {
    CRLOG_FUZZ_CHECK(DecodeEvent(events[i]).ok(), absl::StrCat("Append stored event ", i, ", which does not decode"));
    CRLOG_FUZZ_CHECK(results[i].hash == Sha256(events[i]), absl::StrCat("event ", i, " is stored under another id"));
    auto stored = store.Get(results[i].hash);
    CRLOG_FUZZ_CHECK(stored.ok() && stored->bytes == events[i],
                     absl::StrCat("event ", i, " does not read back as stored"));
  }
  auto report = Verify(store);
  CRLOG_FUZZ_CHECK(report.ok(), absl::StrCat("the log fails verify after Append: ", report.status().ToString()));
}

}  // namespace
}  // namespace crlog::log

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crlog::log;
  const std::string_view bundle(reinterpret_cast<const char*>(data), size);
  auto frames = UnbundleEvents(bundle);
  if (!frames.ok()) {
    CRLOG_FUZZ_CHECK(absl::IsInvalidArgument(frames.status()), frames.status().ToString());
    return 0;
  }
  CheckFrames(bundle, *frames);
  if (frames->empty()) return 0;

  const std::string path = crlog::fuzz::ScratchDir() + "/log";
  crlog::fuzz::RemoveAll(path);
  StoreOptions options;
  options.map_size = size_t{64} << 20;  // the log of one input is tiny
  auto store = LogStore::Open(path, options);
  CRLOG_FUZZ_CHECK(store.ok(), store.status().ToString());
  const std::vector<std::string> events(frames->begin(), frames->end());
  auto appended = (*store)->Append(events, Durability::kNoSync);
  if (appended.ok()) {
    CheckStored(**store, events, *appended);
    auto again = (*store)->Append(events, Durability::kNoSync);
    CRLOG_FUZZ_CHECK(again.ok(), absl::StrCat("appending stored events again fails: ", again.status().ToString()));
    for (const AppendResult& r : *again) CRLOG_FUZZ_CHECK(r.already_present, "an event was stored twice");
  } else {
    CRLOG_FUZZ_CHECK(!appended.status().message().empty(), "a refusal without a message");
    auto stats = (*store)->Stats();
    CRLOG_FUZZ_CHECK(stats.ok() && stats->events == 0 && stats->pending == 0,
                     absl::StrCat("a refused Append left events in the log: ", appended.status().ToString()));
  }
  store->reset();
  crlog::fuzz::RemoveAll(path);
  return 0;
}
