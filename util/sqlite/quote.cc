// Identifier quoting (util/sqlite/quote.h).
#include "util/sqlite/quote.h"

namespace crlog::sqlite {

std::string QuoteIdentifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out.push_back('"');
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace crlog::sqlite
