// XAPI datetimes: parsing every textual form xapi and older hosts send into a UTC instant, and
// formatting an instant the way xapi writes it (YYYYMMDDTHH:MM:SSZ). No time zone database, no
// locale and no libc time functions: the calendar arithmetic is done here, so it is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "xapi/value.h"

namespace xapi {

// Parses `text` (surrounding whitespace ignored). Accepted forms, with an optional fraction of
// seconds and an optional zone (`Z`, `+hh:mm`, `+hhmm`, `+hh`; none means UTC, as in xapi):
//   20250319T04:16:24Z   20250319T041624   2025-03-19T04:16:24.5+02:00   2025-03-19 04:16:24
//   20250319 / 2025-03-19 (midnight UTC)   1627478400. / 1627478400.25 (seconds since the epoch)
// The result always keeps `text` verbatim; `valid` says whether it parsed, `epoch_ms` the instant.
DateTime parse_datetime(std::string_view text);

// xapi's own form of an instant, e.g. 20190113T19:31:47Z (whole seconds, rounded down).
std::string format_datetime(int64_t epoch_ms);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

}  // namespace xapi
