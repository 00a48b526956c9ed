// Text from a log shown to a person or a program: cell values come from
// peers, so nothing in them may reach a terminal as a control sequence, and
// JSON must stay JSON whatever bytes they hold.
#ifndef CRLOG_TOOLS_SAFE_TEXT_H_
#define CRLOG_TOOLS_SAFE_TEXT_H_

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace crlog::tools {

// `s` with every byte that is not part of valid UTF-8 written as the four
// characters \xNN (hex). Valid UTF-8 is returned unchanged.
std::string ValidUtf8(std::string_view s);

// For human output: `s` with control characters (below 0x20 but newline, and
// DEL) and invalid UTF-8 bytes written as \xNN, so that ESC, BEL, NUL and
// broken sequences from a cell value cannot act on the reader's terminal.
std::string TerminalSafe(std::string_view s);

// Wraps `out` so that everything written through the returned stream is
// passed through TerminalSafe (a UTF-8 sequence split across writes is
// held until it completes). Flushes into `out` on destruction.
class TerminalSafeStream {
 public:
  explicit TerminalSafeStream(std::ostream& out);
  ~TerminalSafeStream();
  TerminalSafeStream(const TerminalSafeStream&) = delete;
  TerminalSafeStream& operator=(const TerminalSafeStream&) = delete;
  std::ostream& stream();

 private:
  class Buf;
  std::unique_ptr<Buf> buf_;
  std::unique_ptr<std::ostream> stream_;
};

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_SAFE_TEXT_H_
