// JSON encoder and single-pass JSON decoder for XAPI's JSON-RPC. Strings are found with a
// vectorised scan for '"' and '\\' that also notes non-ASCII bytes, so plain strings are copied
// once. Integers are parsed exactly as int64. It must never read outside the body, recurse deeper
// than DecodeOptions::max_depth, or allocate more than a small multiple of the body size.
#include "xapi/jsonrpc.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "xapi/datetime.h"
#include "xapi/utf8.h"

namespace xapi {
namespace {

// ---------------------------------------------------------------------------------------------
// Encoding

void append_json_string(std::string& out, std::string_view s) {
  if (!utf8_valid(s)) {
    std::string repaired;
    utf8_append_repaired(repaired, s);
    append_json_string(out, repaired);
    return;
  }
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out.append(buf);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_number(std::string& out, double d) {
  if (std::isnan(d)) {
    out.append("NaN");
  } else if (std::isinf(d)) {
    out.append(d > 0 ? "Infinity" : "-Infinity");
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
    out.append(text);
    if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
  }
}

void encode(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Nil:
      out.append("null");
      break;
    case Value::Kind::String:
      append_json_string(out, v.str());
      break;
    case Value::Kind::Int: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.integer());
      out.append(buf, static_cast<size_t>(r.ptr - buf));
      break;
    }
    case Value::Kind::Double:
      append_number(out, v.dbl());
      break;
    case Value::Kind::Bool:
      out.append(v.boolean() ? "true" : "false");
      break;
    case Value::Kind::DateTime: {
      const DateTime& dt = v.datetime();
      append_json_string(out, dt.text.empty() ? format_datetime(dt.epoch_ms) : dt.text);
      break;
    }
    case Value::Kind::Array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.array()) {
        if (!first) out.push_back(',');
        first = false;
        encode(out, item);
      }
      out.push_back(']');
      break;
    }
    case Value::Kind::Struct: {
      out.push_back('{');
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, m.first);
        out.push_back(':');
        encode(out, m.second);
      }
      out.push_back('}');
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

// First '"' or '\\' in [p, end) (or end); sets `special` when a byte >= 0x80 precedes it.
const char* scan_string(const char* p, const char* end, bool& special) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    unsigned stop = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash))));
    unsigned high = static_cast<unsigned>(_mm_movemask_epi8(x));
    if (stop) {
      unsigned idx = static_cast<unsigned>(__builtin_ctz(stop));
      if (high & ((1u << idx) - 1)) special = true;
      return p + idx;
    }
    if (high) special = true;
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\') {
    if (static_cast<unsigned char>(*p) >= 0x80) special = true;
    ++p;
  }
  return p;
}

class Parser {
 public:
  Parser(std::string_view body, const DecodeOptions& opts)
      : begin_(body.data()), p_(body.data()), end_(body.data() + body.size()), opts_(opts) {}

  Value document() {
    if (static_cast<size_t>(end_ - p_) >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;
    Value v = value();
    skip_ws();
    if (p_ != end_) fail("trailing data after the document");
    return v;
  }

  // The whole body is the inside of an object `depth` deep: members separated by commas.
  Struct members_run(size_t depth) {
    depth_ = depth;
    skip_ws();
    if (p_ == end_) return Struct{};
    for (;;) {
      member();
      skip_ws();
      if (p_ == end_) break;
      if (*p_ != ',') fail("expected ','");
      ++p_;
    }
    return take_members(0);
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw DecodeError(std::string("JSON: ") + what, static_cast<size_t>(p_ - begin_));
  }

  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) >= word.size() && std::memcmp(p_, word.data(), word.size()) == 0) {
      p_ += word.size();
      return true;
    }
    return false;
  }

  Value value() {
    skip_ws();
    if (p_ >= end_) fail("unexpected end of input");
    switch (*p_) {
      case '{':
        return object();
      case '[':
        return array();
      case '"': {
        std::string s;
        string(s);
        return Value(std::move(s));
      }
      case 't':
        if (literal("true")) return Value(true);
        break;
      case 'f':
        if (literal("false")) return Value(false);
        break;
      case 'n':
        if (literal("null")) return Value();
        break;
      case 'N':
        if (literal("NaN")) return Value(std::nan(""));
        break;
      case 'I':
        if (literal("Infinity")) return Value(HUGE_VAL);
        break;
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return number();
    }
    fail("unexpected character");
  }

  void enter() {
    if (++depth_ > opts_.max_depth) fail("nesting too deep");
  }

  Value object() {
    enter();
    ++p_;
    size_t base = members_.size();
    skip_ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
    } else {
      for (;;) {
        member();
        skip_ws();
        if (p_ < end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ < end_ && *p_ == '}') {
          ++p_;
          break;
        }
        fail("expected ',' or '}'");
      }
    }
    --depth_;
    return Value(take_members(base));
  }

  // "name": value (after optional whitespace), onto members_.
  void member() {
    skip_ws();
    if (p_ >= end_ || *p_ != '"') fail("expected a member name");
    std::string name;
    string(name);
    skip_ws();
    if (p_ >= end_ || *p_ != ':') fail("expected ':'");
    ++p_;
    Value v = value();
    members_.emplace_back(std::move(name), std::move(v));
  }

  // members_ from `base` on, as one exactly sized Struct.
  Struct take_members(size_t base) {
    Struct out;
    out.reserve(members_.size() - base);
    for (size_t i = base; i < members_.size(); ++i) out.push_back(std::move(members_[i]));
    members_.resize(base);
    return out;
  }

  Value array() {
    enter();
    ++p_;
    size_t base = items_.size();
    skip_ws();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
    } else {
      for (;;) {
        Value v = value();
        items_.push_back(std::move(v));
        skip_ws();
        if (p_ < end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ < end_ && *p_ == ']') {
          ++p_;
          break;
        }
        fail("expected ',' or ']'");
      }
    }
    Array out;
    out.reserve(items_.size() - base);
    for (size_t i = base; i < items_.size(); ++i) out.push_back(std::move(items_[i]));
    items_.resize(base);
    --depth_;
    return Value(std::move(out));
  }

  void append_checked(std::string& out, const char* a, const char* b, bool special) {
    std::string_view s(a, static_cast<size_t>(b - a));
    if (!special) {
      out.append(s);
      return;
    }
    size_t valid = utf8_valid_prefix(s);
    if (valid == s.size()) {
      out.append(s);
    } else if (opts_.repair_utf8) {
      utf8_append_repaired(out, s);
    } else {
      p_ = a + valid;
      fail("invalid UTF-8");
    }
  }

  uint32_t hex4() {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else fail("invalid \\u escape");
    }
    return v;
  }

  // A lone surrogate cannot be UTF-8: U+FFFD when repairing, otherwise an error.
  void lone_surrogate(std::string& out) {
    if (!opts_.repair_utf8) fail("unpaired surrogate in \\u escape");
    utf8_append_codepoint(out, 0xFFFD);
  }

  void escape(std::string& out) {
    ++p_;  // the backslash
    if (p_ >= end_) fail("truncated escape");
    char c = *p_++;
    switch (c) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            uint32_t lo = hex4();
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              utf8_append_codepoint(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
              return;
            }
            p_ = save;  // not a pair: the next escape is decoded on its own
          }
          lone_surrogate(out);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          lone_surrogate(out);
        } else {
          utf8_append_codepoint(out, cp);
        }
        break;
      }
      default:
        --p_;
        fail("invalid escape");
    }
  }

  // A string at p_ (on its opening quote) into `out`.
  void string(std::string& out) {
    ++p_;
    for (;;) {
      bool special = false;
      const char* start = p_;
      const char* stop = scan_string(p_, end_, special);
      if (stop == end_) fail("unterminated string");
      append_checked(out, start, stop, special);
      p_ = stop;
      if (*p_ == '"') {
        ++p_;
        return;
      }
      escape(out);
    }
  }

  Value number() {
    const char* start = p_;
    bool negative = false;
    if (*p_ == '-') {
      negative = true;
      ++p_;
      if (literal("Infinity")) return Value(-HUGE_VAL);
      if (literal("NaN")) return Value(std::nan(""));
    }
    const char* digits = p_;
    uint64_t magnitude = 0;
    bool overflow = false;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      unsigned d = static_cast<unsigned>(*p_ - '0');
      if (magnitude > (UINT64_MAX - d) / 10) overflow = true;
      else magnitude = magnitude * 10 + d;
      ++p_;
    }
    if (p_ == digits) fail("invalid number");
    bool fractional = p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E');
    if (!fractional && !overflow) {
      if (!negative && magnitude <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(magnitude));
      if (negative && magnitude <= static_cast<uint64_t>(INT64_MAX) + 1)
        return Value(static_cast<int64_t>(0 - magnitude));
    }
    // A fraction, an exponent, or an integer beyond int64: a double.
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      const char* frac = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == frac) fail("invalid number");
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* exp = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == exp) fail("invalid number");
    }
    double d = 0;
    auto r = std::from_chars(start, p_, d);
    if (r.ec == std::errc::result_out_of_range) d = std::strtod(std::string(start, p_).c_str(), nullptr);
    else if (r.ec != std::errc() || r.ptr != p_) fail("invalid number");
    return Value(d);
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  DecodeOptions opts_;
  size_t depth_ = 0;
  std::vector<std::pair<std::string, Value>> members_;
  std::vector<Value> items_;
};

std::string error_text(const Value& v) {
  if (v.is_string()) return v.str();
  std::string out;
  encode(out, v);
  return out;
}

}  // namespace

void json_encode_value(std::string& out, const Value& v) { encode(out, v); }

std::string jsonrpc_encode_call(std::string_view method, const Array& params, int64_t id, JsonRpcVersion version) {
  std::string out;
  out.reserve(128);
  out.append(version == JsonRpcVersion::V2 ? "{\"jsonrpc\":\"2.0\",\"method\":" : "{\"method\":");
  append_json_string(out, method);
  out.append(",\"params\":[");
  bool first = true;
  for (const auto& p : params) {
    if (!first) out.push_back(',');
    first = false;
    encode(out, p);
  }
  out.append("],\"id\":");
  out.append(std::to_string(id));
  out.push_back('}');
  return out;
}

std::string jsonrpc_encode_response(const Response& response, int64_t id, JsonRpcVersion version) {
  std::string out = version == JsonRpcVersion::V2 ? "{\"jsonrpc\":\"2.0\"," : "{";
  if (response.ok) {
    out.append("\"result\":");
    encode(out, response.value);
    if (version == JsonRpcVersion::V1) out.append(",\"error\":null");
  } else if (version == JsonRpcVersion::V2) {
    out.append("\"error\":{\"code\":1,\"message\":");
    append_json_string(out, response.error.empty() ? std::string() : response.error[0]);
    out.append(",\"data\":[");
    for (size_t i = 1; i < response.error.size(); ++i) {
      if (i > 1) out.push_back(',');
      append_json_string(out, response.error[i]);
    }
    out.append("]}");
  } else {
    out.append("\"result\":null,\"error\":[");
    for (size_t i = 0; i < response.error.size(); ++i) {
      if (i) out.push_back(',');
      append_json_string(out, response.error[i]);
    }
    out.append("]");
  }
  out.append(",\"id\":");
  out.append(std::to_string(id));
  out.push_back('}');
  return out;
}

Value json_decode(std::string_view body, const DecodeOptions& opts) { return Parser(body, opts).document(); }

Struct json_decode_members(std::string_view run, size_t depth, const DecodeOptions& opts) {
  return Parser(run, opts).members_run(depth);
}

Response jsonrpc_decode_response(std::string_view body, const DecodeOptions& opts) {
  Value doc = json_decode(body, opts);
  if (!doc.is_struct()) throw DecodeError("JSON-RPC: response is not an object", 0);
  Response r;
  Value* result = nullptr;
  Value* error = nullptr;
  for (auto& m : doc.members()) {
    if (m.first == "result") result = &m.second;
    else if (m.first == "error") error = &m.second;
  }
  if (error && !error->is_nil()) {
    r.ok = false;
    if (error->is_array()) {
      for (const auto& item : error->array()) r.error.push_back(error_text(item));
    } else if (error->is_struct()) {
      const Value* message = error->get("message");
      const Value* code = error->get("code");
      const Value* data = error->get("data");
      r.error.push_back(message ? error_text(*message) : code ? error_text(*code) : std::string());
      if (data && data->is_array()) {
        for (const auto& item : data->array()) r.error.push_back(error_text(item));
      } else if (data && !data->is_nil()) {
        r.error.push_back(error_text(*data));
      }
    } else {
      r.error.push_back(error_text(*error));
    }
    // A failure always carries a code; an empty description (never sent by xapi) gets one.
    if (r.error.empty()) r.error.push_back("Failure");
    return r;
  }
  if (!result) throw DecodeError("JSON-RPC: response has neither result nor error", 0);
  r.value = std::move(*result);
  return r;
}

}  // namespace xapi
