// ResolvePoint (engine/history/point.h).
#include "engine/history/point.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crlog/time.h"
#include "util/strings.h"

namespace crlog::engine {
namespace {

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}

constexpr char kForms[] =
    "a point is 'head', an event id or a prefix of one (at least 4 hex digits), SITE:SEQ, or a time "
    "(2026-11-22, 2026-11-22T07:00:00Z, @1763794800)";

absl::StatusOr<Point> EventPoint(const log::StoredEvent& stored, const log::SiteId& local_site,
                                 std::string_view text) {
  auto header = log::DecodeEventHeader(stored.bytes, log::DecodeLimits{SIZE_MAX});
  if (!header.ok()) return header.status();
  Point p;
  p.text = std::string(text);
  if (header->kind == log::EventKind::kImport) {
    // An import has no parents: alone it is a few cells with no table to
    // hold them. What a user means is this replica just after taking it in.
    p.up_to_position = stored.position;
    p.schema_site = local_site;
  } else {
    p.heads = {stored.hash};
    p.schema_site = header->site;
  }
  return p;
}

absl::StatusOr<Point> SiteSeqPoint(const log::LogStore& store, const log::SiteId& local_site, std::string_view text,
                                   std::string_view site_text, uint64_t seq) {
  auto vv = store.GetVersionVector();
  if (!vv.ok()) return vv.status();
  const std::string prefix = absl::AsciiStrToLower(Sv(site_text));
  std::vector<std::pair<log::SiteId, uint64_t>> matches;
  for (const auto& [site, newest] : *vv) {
    if (absl::StartsWith(log::ToHex(site), prefix)) matches.emplace_back(site, newest);
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("point '", Sv(text), "': no site in the log '", store.path(),
                                            "' has an id starting with ", prefix));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("point '", Sv(text), "': ", matches.size(),
                                                   " sites have ids starting with ", prefix,
                                                   "; give more digits of the site id"));
  }
  const auto& [site, newest] = matches.front();
  if (seq == 0 || seq > newest) {
    return absl::NotFoundError(absl::StrCat("point '", Sv(text), "': site ", log::ToHex(site),
                                            " has events with seq 1 to ", newest, " in this log, not ", seq));
  }
  auto stored = store.GetBySiteSeq(site, seq);
  if (!stored.ok()) return stored.status();
  return EventPoint(*stored, local_site, text);
}

}  // namespace

absl::StatusOr<Point> ResolvePoint(const log::LogStore& store, const log::SiteId& local_site,
                                   const std::vector<log::Hash>& materialised_heads, std::string_view raw) {
  std::string_view text = Sv(absl::StripAsciiWhitespace(Sv(raw)));
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("an empty point: ", kForms));

  if (absl::EqualsIgnoreCase(Sv(text), "head")) {
    Point p;
    p.text = std::string(text);
    p.heads = materialised_heads;
    p.schema_site = local_site;
    return p;
  }

  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    std::string_view site = text.substr(0, colon), seq = text.substr(colon + 1);
    uint64_t n = 0;
    if (IsHex(site) && IsDigits(seq) && absl::SimpleAtoi(Sv(seq), &n)) {
      if (site.size() < 4) {
        return absl::InvalidArgumentError(
            absl::StrCat("point '", Sv(text), "': give at least 4 hex digits of the site id"));
      }
      return SiteSeqPoint(store, local_site, text, site, n);
    }
  }

  if (IsHex(text) && text.size() <= 2 * sizeof(log::Hash)) {
    if (text.size() < 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("point '", Sv(text), "': an event id prefix needs at least 4 hex digits"));
    }
    auto stored = store.GetByPrefix(absl::AsciiStrToLower(Sv(text)));
    if (!stored.ok()) {
      if (absl::IsNotFound(stored.status())) {
        return absl::NotFoundError(absl::StrCat("point '", Sv(text), "': no event in the log '", store.path(),
                                                "' has an id starting so; `crlog log` lists them"));
      }
      return absl::Status(stored.status().code(),
                          absl::StrCat("point '", Sv(text), "': ", stored.status().message()));
    }
    return EventPoint(*stored, local_site, text);
  }

  if (std::optional<int64_t> micros = ParseTime(text)) {
    auto position = store.PositionArrivedBy(*micros);
    if (!position.ok()) return position.status();
    if (*position == 0) {
      std::string first;
      if (auto at = store.ArrivalMicros(1); at.ok() && at->has_value()) {
        first = absl::StrCat(" (the first arrived at ", FormatTime(**at), ")");
      }
      return absl::NotFoundError(absl::StrCat("point '", Sv(text), "': no event had arrived in the log '",
                                              store.path(), "' by then", first));
    }
    Point p;
    p.text = std::string(text);
    p.up_to_position = *position;
    p.schema_site = local_site;
    return p;
  }
  return absl::InvalidArgumentError(absl::StrCat("'", Sv(text), "' is not a point: ", kForms));
}

}  // namespace crlog::engine
