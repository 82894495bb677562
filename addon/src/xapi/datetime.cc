// Datetime parsing and formatting for XAPI wire values. A small hand-written recogniser over the
// text: fixed-width digit fields, optional separators, optional fraction and zone. It must not
// depend on the process locale or time zone, and never reads past the given string_view.
#include "xapi/datetime.h"

#include <cstdio>

namespace xapi {
namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // Exactly n decimal digits.
  bool digits(size_t n, int64_t& out) {
    if (s_.size() - i_ < n) return false;
    int64_t v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s_[i_ + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i_ += n;
    out = v;
    return true;
  }
  bool is_digit() const { return peek() >= '0' && peek() <= '9'; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, int64_t m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Milliseconds from a fraction ".ddd..." (the dot already consumed); extra digits are truncated.
bool fraction_ms(Cursor& c, int64_t& ms) {
  if (!c.is_digit()) return false;
  int64_t v = 0;
  int n = 0;
  while (c.is_digit()) {
    int64_t d = 0;
    c.digits(1, d);
    if (n < 3) v = v * 10 + d;
    ++n;
  }
  while (n < 3) {
    v *= 10;
    ++n;
  }
  ms = v;
  return true;
}

// Seconds-since-epoch form: digits, a dot, optional fraction digits, nothing else.
bool parse_epoch_seconds(std::string_view s, int64_t& out_ms) {
  Cursor c(s);
  bool negative = c.eat('-');
  int64_t secs = 0;
  size_t n = 0;
  while (c.is_digit()) {
    int64_t d = 0;
    c.digits(1, d);
    if (++n > 12) return false;  // beyond year ~33000: not a datetime
    secs = secs * 10 + d;
  }
  if (n == 0 || !c.eat('.')) return false;
  int64_t ms = 0;
  if (!c.done() && !fraction_ms(c, ms)) return false;
  if (!c.done()) return false;
  out_ms = (negative ? -1 : 1) * (secs * 1000 + ms);
  return true;
}

bool parse_calendar(std::string_view s, int64_t& out_ms) {
  Cursor c(s);
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, ms = 0;
  if (!c.digits(4, year)) return false;
  bool dashed = c.eat('-');
  if (!c.digits(2, month)) return false;
  if (dashed && !c.eat('-')) return false;
  if (!c.digits(2, day)) return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return false;
  int64_t offset_min = 0;
  if (!c.done()) {
    if (!(c.eat('T') || c.eat('t') || c.eat(' '))) return false;
    if (!c.digits(2, hour)) return false;
    bool colons = c.eat(':');
    if (!c.digits(2, minute)) return false;
    if (colons && !c.eat(':')) return false;
    if (!c.digits(2, second)) return false;
    if (hour > 23 || minute > 59 || second > 60) return false;
    if ((c.eat('.') || c.eat(',')) && !fraction_ms(c, ms)) return false;
    if (c.eat('Z') || c.eat('z')) {
      // UTC
    } else if (c.peek() == '+' || c.peek() == '-') {
      int sign = c.peek() == '-' ? -1 : 1;
      c.eat(c.peek());
      int64_t oh = 0, om = 0;
      if (!c.digits(2, oh)) return false;
      if (c.eat(':')) {
        if (!c.digits(2, om)) return false;
      } else if (c.is_digit() && !c.digits(2, om)) {
        return false;
      }
      if (oh > 23 || om > 59) return false;
      offset_min = sign * (oh * 60 + om);
    }
    if (!c.done()) return false;
  }
  int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  out_ms = secs * 1000 + ms;
  return true;
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Shift the year to start in March so the leap day is the last day of the year.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                       // [0, 399]
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;      // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;               // [0, 146096]
  return era * 146097 + doe - 719468;
}

DateTime parse_datetime(std::string_view text) {
  DateTime dt;
  dt.text.assign(text.data(), text.size());
  std::string_view s = trim(text);
  int64_t ms = 0;
  if (parse_calendar(s, ms) || parse_epoch_seconds(s, ms)) {
    dt.valid = true;
    dt.epoch_ms = ms;
  }
  return dt;
}

std::string format_datetime(int64_t epoch_ms) {
  // Floor divisions, written so that no negation can overflow at INT64_MIN.
  int64_t secs = epoch_ms / 1000 - (epoch_ms % 1000 < 0 ? 1 : 0);
  int64_t days = secs / 86400 - (secs % 86400 < 0 ? 1 : 0);
  int64_t rem = secs - days * 86400;
  // Civil date from days since the epoch (inverse of days_from_civil).
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld%02lld%02lldT%02lld:%02lld:%02lldZ", static_cast<long long>(year),
                static_cast<long long>(month), static_cast<long long>(day), static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  return buf;
}

}  // namespace xapi
