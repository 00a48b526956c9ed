#include "tools/safe_text.h"

#include <cstdint>
#include <streambuf>

#include "absl/strings/str_format.h"

namespace crlog::tools {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF). `complete` is
// false when s ends inside a sequence that may still be valid.
size_t Utf8Length(std::string_view s, size_t i, bool* complete = nullptr) {
  if (complete) *complete = true;
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) {
      if (complete) *complete = false;
      return 0;
    }
    const uint8_t lower = k == 1 ? lo : 0x80, upper = k == 1 ? hi : 0xBF;
    if (b(k) < lower || b(k) > upper) return 0;
  }
  return n;
}

void AppendEscaped(std::string* out, uint8_t c) { absl::StrAppendFormat(out, "\\x%02x", c); }

// Everything of `s` up to a trailing incomplete sequence (its start is
// returned in `*kept`).
std::string Escape(std::string_view s, bool controls, size_t* kept) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool complete = true;
    const size_t n = Utf8Length(s, i, &complete);
    if (!complete && kept != nullptr) break;
    const auto c = static_cast<uint8_t>(s[i]);
    if (n == 0) {
      AppendEscaped(&out, c);
      ++i;
    } else if (n == 1 && controls && ((c < 0x20 && c != '\n') || c == 0x7f)) {
      AppendEscaped(&out, c);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  if (kept != nullptr) *kept = i;
  return out;
}

}  // namespace

std::string ValidUtf8(std::string_view s) { return Escape(s, /*controls=*/false, nullptr); }

std::string TerminalSafe(std::string_view s) { return Escape(s, /*controls=*/true, nullptr); }

class TerminalSafeStream::Buf : public std::streambuf {
 public:
  explicit Buf(std::ostream& out) : out_(out) {}
  ~Buf() override { Drain(/*final=*/true); }
  int sync() override {
    Drain(false);
    out_.flush();
    return 0;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) pending_.push_back(static_cast<char>(c));
    if (pending_.size() >= 4096) Drain(false);
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    pending_.append(s, static_cast<size_t>(n));
    if (pending_.size() >= 4096) Drain(false);
    return n;
  }

 private:
  void Drain(bool final) {
    size_t kept = pending_.size();
    std::string safe = final ? TerminalSafe(pending_) : Escape(pending_, true, &kept);
    if (final) kept = pending_.size();
    out_ << safe;
    pending_.erase(0, kept);
  }
  std::ostream& out_;
  std::string pending_;
};

TerminalSafeStream::TerminalSafeStream(std::ostream& out)
    : buf_(std::make_unique<Buf>(out)), stream_(std::make_unique<std::ostream>(buf_.get())) {}

TerminalSafeStream::~TerminalSafeStream() {
  stream_->flush();
  stream_.reset();
  buf_.reset();
}

std::ostream& TerminalSafeStream::stream() { return *stream_; }

}  // namespace crlog::tools
