// UTF-8 validation and repair for the codecs. ASCII runs are skipped eight bytes at a time,
// which is most of what XAPI sends; multi-byte sequences are checked per RFC 3629 table 3-7.
// No state, no allocation beyond the caller's output string.
#include "xapi/utf8.h"

#include <cstring>

namespace xapi {
namespace {

// Length of the well-formed sequence starting at p[0] (p < end), or 0 when it is ill-formed.
size_t sequence_length(const unsigned char* p, const unsigned char* end) {
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t avail = static_cast<size_t>(end - p);
  auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return (avail >= 2 && cont(p[1])) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3) return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;       // no overlong forms
    if (c == 0xED) hi = 0x9F;       // no surrogates
    if (p[1] < lo || p[1] > hi || !cont(p[2])) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4) return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xF0) lo = 0x90;       // no overlong forms
    if (c == 0xF4) hi = 0x8F;       // nothing above U+10FFFF
    if (p[1] < lo || p[1] > hi || !cont(p[2]) || !cont(p[3])) return 0;
    return 4;
  }
  return 0;
}

// Bytes of the maximal invalid subsequence at p (at least 1), per the W3C/Unicode practice of
// replacing each maximal subpart with one U+FFFD.
size_t invalid_length(const unsigned char* p, const unsigned char* end) {
  unsigned char c = p[0];
  size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
  size_t n = 1;
  while (n < need && p + n < end) {
    unsigned char b = p[n];
    unsigned char lo = 0x80, hi = 0xBF;
    if (n == 1) {
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (b < lo || b > hi) break;
    ++n;
  }
  return n;
}

const unsigned char* skip_ascii(const unsigned char* p, const unsigned char* end) {
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (w & 0x8080808080808080ULL) break;
    p += 8;
  }
  while (p < end && *p < 0x80) ++p;
  return p;
}

}  // namespace

size_t utf8_valid_prefix(std::string_view s) {
  auto* begin = reinterpret_cast<const unsigned char*>(s.data());
  auto* end = begin + s.size();
  auto* p = begin;
  while (p < end) {
    p = skip_ascii(p, end);
    if (p == end) break;
    size_t n = sequence_length(p, end);
    if (n == 0) break;
    p += n;
  }
  return static_cast<size_t>(p - begin);
}

void utf8_append_repaired(std::string& out, std::string_view s) {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  auto* end = p + s.size();
  while (p < end) {
    auto* run = p;
    while (p < end) {
      p = skip_ascii(p, end);
      if (p == end) break;
      size_t n = sequence_length(p, end);
      if (n == 0) break;
      p += n;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    if (p < end) {
      out.append("\xEF\xBF\xBD");
      p += invalid_length(p, end);
    }
  }
}

void utf8_append_codepoint(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace xapi
