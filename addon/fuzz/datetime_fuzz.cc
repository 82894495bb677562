// libFuzzer target for datetime parsing: any text parses or is marked invalid, and a parsed
// instant formats back (xapi form) to text that parses to the same whole second. Built by
// run.sh only; never linked into xapi.node.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xapi/datetime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  xapi::DateTime dt = xapi::parse_datetime(text);
  if (dt.text != text) std::abort();
  if (!dt.valid) return 0;
  std::string formatted = xapi::format_datetime(dt.epoch_ms);
  // Years outside 0000..9999 have no 4-digit form.
  if (formatted.size() != 18 || formatted[0] < '0' || formatted[0] > '9') return 0;
  xapi::DateTime back = xapi::parse_datetime(formatted);
  int64_t floor_ms = dt.epoch_ms - ((dt.epoch_ms % 1000) + 1000) % 1000;
  if (!back.valid || back.epoch_ms != floor_ms) std::abort();
  return 0;
}
