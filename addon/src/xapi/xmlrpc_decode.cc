// XML-RPC single-pass decoder (responses and calls). It walks the body once with a pointer,
// finds text runs with a vectorised scan for '<' that also notes '&' and non-ASCII bytes, and
// only then decodes entities or checks UTF-8. It must never read outside the body, recurse deeper
// than DecodeOptions::max_depth, or allocate more than a small multiple of the body size.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "xapi/datetime.h"
#include "xapi/utf8.h"
#include "xapi/xmlrpc.h"

namespace xapi {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == ':';
}

// First '<' in [p, end) (or end); sets `special` when a '&' or a byte >= 0x80 precedes it.
const char* scan_text(const char* p, const char* end, bool& special) {
#if defined(__SSE2__)
  const __m128i lt = _mm_set1_epi8('<');
  const __m128i amp = _mm_set1_epi8('&');
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    unsigned stop = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, lt)));
    unsigned odd = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, amp), x)));
    if (stop) {
      unsigned idx = static_cast<unsigned>(__builtin_ctz(stop));
      if (odd & ((1u << idx) - 1)) special = true;
      return p + idx;
    }
    if (odd) special = true;
    p += 16;
  }
#endif
  while (p < end && *p != '<') {
    if (*p == '&' || static_cast<unsigned char>(*p) >= 0x80) special = true;
    ++p;
  }
  return p;
}

enum class TagKind { Open, SelfClosing, Close };

struct Tag {
  std::string_view name;
  TagKind kind;
};

class Parser {
 public:
  Parser(std::string_view body, const DecodeOptions& opts)
      : begin_(body.data()), p_(body.data()), end_(body.data() + body.size()), opts_(opts) {}

  Response response() {
    prolog();
    expect_open("methodResponse");
    Tag t = next_tag();
    Response r;
    if (t.kind == TagKind::Open && t.name == "params") {
      expect_open("param");
      Value v = value();
      expect_close("param");
      expect_close("params");
      unwrap_envelope(std::move(v), r);
    } else if (t.kind == TagKind::Open && t.name == "fault") {
      Value v = value();
      expect_close("fault");
      r.ok = false;
      r.error.push_back("XMLRPC_FAULT");
      const Value* code = v.get("faultCode");
      const Value* text = v.get("faultString");
      r.error.push_back(code ? error_text(*code) : std::string());
      r.error.push_back(text ? error_text(*text) : std::string());
    } else {
      fail("expected <params> or <fault>");
    }
    expect_close("methodResponse");
    epilogue();
    return r;
  }

  Call call() {
    prolog();
    expect_open("methodCall");
    Call c;
    if (expect_open("methodName")) {
      read_text(c.method);
      expect_close("methodName");
    }
    // <params> may be absent or empty.
    skip_misc();
    if (p_ < end_ && starts_with("<params")) {
      if (expect_open("params")) {
        for (;;) {
          skip_misc();
          if (starts_with("</")) break;
          if (expect_open("param")) {
            c.params.push_back(value());
            expect_close("param");
          } else {
            c.params.emplace_back(std::string());
          }
        }
        expect_close("params");
      }
    }
    expect_close("methodCall");
    epilogue();
    return c;
  }

  // The whole body is a run of <member> elements (the inside of a struct `depth` deep).
  Struct members_run(size_t depth) {
    depth_ = depth;
    for (;;) {
      skip_misc();
      if (p_ == end_) break;
      member();
    }
    return take_members(0);
  }

 private:
  [[noreturn]] void fail(const char* what) const { throw DecodeError(std::string("XML-RPC: ") + what, offset()); }
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  bool starts_with(std::string_view lit) const {
    return static_cast<size_t>(end_ - p_) >= lit.size() && std::memcmp(p_, lit.data(), lit.size()) == 0;
  }

  // Skips whitespace, comments and processing instructions between tags.
  void skip_misc() {
    for (;;) {
      while (p_ < end_ && is_space(*p_)) ++p_;
      if (starts_with("<!--")) {
        skip_past("-->", 4);
      } else if (starts_with("<?")) {
        skip_past("?>", 2);
      } else {
        return;
      }
    }
  }

  void skip_past(std::string_view terminator, size_t from) {
    std::string_view rest(p_ + from, static_cast<size_t>(end_ - p_) - from);
    size_t at = rest.find(terminator);
    if (at == std::string_view::npos) fail("unterminated comment or section");
    p_ = rest.data() + at + terminator.size();
  }

  void prolog() {
    if (starts_with("\xEF\xBB\xBF")) p_ += 3;
    skip_misc();
    if (starts_with("<!")) fail("DOCTYPE and other declarations are not accepted");
  }

  void epilogue() {
    skip_misc();
    if (p_ != end_) fail("trailing data after the document");
  }

  // Reads the tag at p_ (after skipping whitespace and comments).
  Tag next_tag() {
    skip_misc();
    if (p_ >= end_ || *p_ != '<') fail("expected a tag");
    ++p_;
    TagKind kind = TagKind::Open;
    if (p_ < end_ && *p_ == '/') {
      kind = TagKind::Close;
      ++p_;
    }
    const char* name = p_;
    while (p_ < end_ && is_name_char(*p_)) ++p_;
    if (p_ == name) fail("expected a tag name");
    Tag t{std::string_view(name, static_cast<size_t>(p_ - name)), kind};
    while (p_ < end_ && is_space(*p_)) ++p_;
    if (p_ < end_ && *p_ == '/' && kind == TagKind::Open) {
      t.kind = TagKind::SelfClosing;
      ++p_;
    }
    if (p_ >= end_ || *p_ != '>') fail("malformed tag (attributes are not accepted)");
    ++p_;
    return t;
  }

  // Consumes <name> (true) or <name/> (false). The literal overloads let the compiler inline the
  // comparison of the common exact spelling.
  template <size_t N>
  bool expect_open(const char (&name)[N]) {
    constexpr size_t n = N - 1;
    if (static_cast<size_t>(end_ - p_) >= n + 2 && p_[0] == '<' && std::memcmp(p_ + 1, name, n) == 0 && p_[n + 1] == '>') {
      p_ += n + 2;
      return true;
    }
    return expect_open(std::string_view(name, n));
  }

  template <size_t N>
  void expect_close(const char (&name)[N]) {
    constexpr size_t n = N - 1;
    if (static_cast<size_t>(end_ - p_) >= n + 3 && p_[0] == '<' && p_[1] == '/' && std::memcmp(p_ + 2, name, n) == 0 &&
        p_[n + 2] == '>') {
      p_ += n + 3;
      return;
    }
    expect_close(std::string_view(name, n));
  }

  bool expect_open(std::string_view name) {
    // Fast path for the exact, common spelling.
    if (static_cast<size_t>(end_ - p_) >= name.size() + 2 && p_[0] == '<' &&
        std::memcmp(p_ + 1, name.data(), name.size()) == 0 && p_[name.size() + 1] == '>') {
      p_ += name.size() + 2;
      return true;
    }
    Tag t = next_tag();
    if (t.name != name || t.kind == TagKind::Close) fail_expected(name);
    return t.kind == TagKind::Open;
  }

  void expect_close(std::string_view name) {
    if (static_cast<size_t>(end_ - p_) >= name.size() + 3 && p_[0] == '<' && p_[1] == '/' &&
        std::memcmp(p_ + 2, name.data(), name.size()) == 0 && p_[name.size() + 2] == '>') {
      p_ += name.size() + 3;
      return;
    }
    Tag t = next_tag();
    if (t.name != name || t.kind != TagKind::Close) fail_expected(name);
  }

  [[noreturn]] void fail_expected(std::string_view name) const {
    throw DecodeError("XML-RPC: expected <" + std::string(name) + ">", offset());
  }

  // Character data up to the next tag, with entities, CDATA sections and comments handled; p_ is
  // left on the '<' of the next tag.
  void read_text(std::string& out) {
    bool special = false;
    const char* start = p_;
    const char* stop = scan_text(p_, end_, special);
    if (stop == end_) fail("unterminated text");
    if (!special && !starts_with_at(stop, "<!")) {
      out.append(start, static_cast<size_t>(stop - start));
      p_ = stop;
      return;
    }
    for (;;) {
      append_text(out, start, stop);
      p_ = stop;
      if (starts_with("<![CDATA[")) {
        const char* body = p_ + 9;
        std::string_view rest(body, static_cast<size_t>(end_ - body));
        size_t at = rest.find("]]>");
        if (at == std::string_view::npos) fail("unterminated CDATA section");
        append_checked(out, std::string_view(body, at));
        p_ = body + at + 3;
      } else if (starts_with("<!--")) {
        skip_past("-->", 4);
      } else {
        return;
      }
      start = p_;
      special = false;
      stop = scan_text(p_, end_, special);
      if (stop == end_) fail("unterminated text");
    }
  }

  bool starts_with_at(const char* at, std::string_view lit) const {
    return static_cast<size_t>(end_ - at) >= lit.size() && std::memcmp(at, lit.data(), lit.size()) == 0;
  }

  // Appends raw bytes after checking (or repairing) their UTF-8.
  void append_checked(std::string& out, std::string_view s) {
    size_t valid = utf8_valid_prefix(s);
    if (valid == s.size()) {
      out.append(s);
    } else if (opts_.repair_utf8) {
      utf8_append_repaired(out, s);
    } else {
      p_ = s.data() + valid;
      fail("invalid UTF-8");
    }
  }

  // Appends character data [a, b) with entity references decoded.
  void append_text(std::string& out, const char* a, const char* b) {
    while (a < b) {
      const char* amp = static_cast<const char*>(std::memchr(a, '&', static_cast<size_t>(b - a)));
      const char* run_end = amp ? amp : b;
      append_checked(out, std::string_view(a, static_cast<size_t>(run_end - a)));
      if (!amp) return;
      const char* semi = static_cast<const char*>(std::memchr(amp, ';', static_cast<size_t>(std::min<ptrdiff_t>(b - amp, 12))));
      if (!semi) {
        p_ = amp;
        fail("malformed entity reference");
      }
      decode_entity(out, std::string_view(amp + 1, static_cast<size_t>(semi - amp - 1)), amp);
      a = semi + 1;
    }
  }

  void decode_entity(std::string& out, std::string_view ent, const char* at) {
    if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (ent.size() >= 2 && ent[0] == '#') {
      uint32_t cp = 0;
      const char* first = ent.data() + 1;
      int base = 10;
      if (*first == 'x' || *first == 'X') {
        ++first;
        base = 16;
      }
      const char* last = ent.data() + ent.size();
      auto r = std::from_chars(first, last, cp, base);
      if (first == last || r.ec != std::errc() || r.ptr != last || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        p_ = at;
        fail("invalid character reference");
      }
      utf8_append_codepoint(out, cp);
    } else {
      p_ = at;
      fail("unknown entity");
    }
  }

  // Text of a scalar element whose open tag is consumed, through its close tag.
  std::string scalar_text(std::string_view tag) {
    std::string s;
    read_text(s);
    expect_close(tag);
    return s;
  }

  static std::string_view trimmed(const std::string& s) {
    std::string_view v(s);
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
    return v;
  }

  int64_t parse_int(const std::string& text, const char* at) {
    std::string_view t = trimmed(text);
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);
    int64_t i = 0;
    auto r = std::from_chars(t.data(), t.data() + t.size(), i);
    if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) {
      p_ = at;
      fail("invalid integer");
    }
    return i;
  }

  double parse_double(const std::string& text, const char* at) {
    std::string_view t = trimmed(text);
    bool negative = false;
    std::string_view unsigned_part = t;
    if (!t.empty() && (t.front() == '+' || t.front() == '-')) {
      negative = t.front() == '-';
      unsigned_part.remove_prefix(1);
    }
    auto ieq = [](std::string_view a, std::string_view b) {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if ((a[i] | 0x20) != b[i]) return false;
      return true;
    };
    if (ieq(unsigned_part, "nan")) return std::nan("");
    if (ieq(unsigned_part, "inf") || ieq(unsigned_part, "infinity")) return negative ? -HUGE_VAL : HUGE_VAL;
    double d = 0;
    auto r = std::from_chars(unsigned_part.data(), unsigned_part.data() + unsigned_part.size(), d);
    if (unsigned_part.empty() || r.ec == std::errc::invalid_argument || r.ptr != unsigned_part.data() + unsigned_part.size() ||
        (unsigned_part.front() != '.' && (unsigned_part.front() < '0' || unsigned_part.front() > '9'))) {
      p_ = at;
      fail("invalid double");
    }
    // Out of range: from_chars leaves d untouched; follow strtod (infinity or zero).
    if (r.ec == std::errc::result_out_of_range) d = std::strtod(std::string(unsigned_part).c_str(), nullptr);
    return negative ? -d : d;
  }

  std::string decode_base64(const std::string& text, const char* at) {
    std::string out;
    out.reserve(text.size() / 4 * 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t pad = 0;
    for (char c : text) {
      int v;
      if (c >= 'A' && c <= 'Z') v = c - 'A';
      else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
      else if (c >= '0' && c <= '9') v = c - '0' + 52;
      else if (c == '+' || c == '-') v = 62;
      else if (c == '/' || c == '_') v = 63;
      else if (c == '=') { ++pad; continue; }
      else if (is_space(c)) continue;
      else { p_ = at; fail("invalid base64"); }
      if (pad) { p_ = at; fail("invalid base64 padding"); }
      acc = (acc << 6) | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<char>((acc >> bits) & 0xFF));
      }
    }
    std::string checked;
    checked.reserve(out.size());
    const char* resume = p_;
    p_ = at;  // an invalid UTF-8 error points at the element
    append_checked(checked, out);
    p_ = resume;
    return checked;
  }

  // Parses <value>...</value> at p_.
  Value value() {
    if (!expect_open("value")) return Value(std::string());
    return value_content();
  }

  // After <value>: either untyped text (a string) or exactly one typed element.
  Value value_content() {
    bool special = false;
    const char* start = p_;
    const char* stop = scan_text(p_, end_, special);
    if (stop == end_) fail("unterminated <value>");
    // The common case: plain text immediately closed by </value>.
    if (!special && static_cast<size_t>(end_ - stop) >= 8 && std::memcmp(stop, "</value>", 8) == 0) {
      p_ = stop + 8;
      return Value(std::string(start, static_cast<size_t>(stop - start)));
    }
    bool blank = !special;
    for (const char* q = start; blank && q < stop; ++q) blank = is_space(*q);
    if (blank && stop + 1 < end_ && stop[1] != '/' && stop[1] != '!') {
      p_ = stop;
      Value v = typed();
      expect_close("value");
      return v;
    }
    std::string s;
    p_ = start;
    read_text(s);
    expect_close("value");
    return Value(std::move(s));
  }

  Value typed() {
    const char* at = p_;
    Tag t = next_tag();
    if (t.kind == TagKind::Close) fail("unexpected close tag in <value>");
    bool open = t.kind == TagKind::Open;
    std::string_view n = t.name;
    if (n == "string") return open ? Value(scalar_text(n)) : Value(std::string());
    if (n == "struct") return open ? struct_content() : Value(Struct{});
    if (n == "array") return open ? array_content() : Value(Array{});
    if (n == "nil") {
      if (open) expect_close(n);
      return Value();
    }
    if (!open) {
      p_ = at;
      fail("empty scalar element");
    }
    if (n == "i4" || n == "int" || n == "i8") return Value(parse_int(scalar_text(n), at));
    if (n == "boolean") {
      std::string text = scalar_text(n);
      std::string_view b = trimmed(text);
      if (b == "1" || b == "true") return Value(true);
      if (b == "0" || b == "false") return Value(false);
      p_ = at;
      fail("invalid boolean");
    }
    if (n == "double") return Value(parse_double(scalar_text(n), at));
    if (n == "dateTime.iso8601") return Value(parse_datetime(scalar_text(n)));
    if (n == "base64") return Value(decode_base64(scalar_text(n), at));
    p_ = at;
    fail("unknown value type");
  }

  void enter() {
    if (++depth_ > opts_.max_depth) fail("nesting too deep");
  }

  Value array_content() {
    enter();
    Array out;
    skip_misc();
    if (!starts_with("</array")) {
      if (expect_open("data")) {
        size_t base = items_.size();
        for (;;) {
          skip_misc();
          if (starts_with("</")) break;
          Value v = value();
          items_.push_back(std::move(v));
        }
        expect_close("data");
        out.reserve(items_.size() - base);
        for (size_t i = base; i < items_.size(); ++i) out.push_back(std::move(items_[i]));
        items_.resize(base);
      }
    }
    expect_close("array");
    --depth_;
    return Value(std::move(out));
  }

  Value struct_content() {
    enter();
    size_t base = members_.size();
    for (;;) {
      skip_misc();
      if (starts_with("</")) break;
      member();
    }
    expect_close("struct");
    --depth_;
    return Value(take_members(base));
  }

  // <member><name>..</name><value>..</value></member> at p_, onto members_.
  void member() {
    expect_open("member");
    std::string name;
    Value v;
    bool have_name = false, have_value = false;
    for (;;) {
      skip_misc();
      if (starts_with("</")) break;
      if (!have_name && starts_with("<name")) {
        if (expect_open("name")) {
          read_text(name);
          expect_close("name");
        }
        have_name = true;
      } else if (!have_value && starts_with("<value")) {
        v = value();
        have_value = true;
      } else {
        fail("expected <name> or <value> in <member>");
      }
    }
    if (!have_name) fail("<member> without <name>");
    expect_close("member");
    if (!have_value) v = Value(std::string());
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
  static std::string error_text(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::String:
        return v.str();
      case Value::Kind::Int:
        return std::to_string(v.integer());
      case Value::Kind::Bool:
        return v.boolean() ? "true" : "false";
      case Value::Kind::DateTime:
        return v.datetime().text;
      case Value::Kind::Nil:
        return std::string();
      default: {
        std::string out;
        xmlrpc_encode_value(out, v);
        return out;
      }
    }
  }

  static void unwrap_envelope(Value v, Response& r) {
    const Value* status = v.get("Status");
    if (!status || !status->is_string()) {
      r.value = std::move(v);  // no envelope: system.listMethods
      return;
    }
    if (status->str() == "Success") {
      for (auto& m : v.members())
        if (m.first == "Value") {
          r.value = std::move(m.second);
          return;
        }
      r.value = Value(std::string());
      return;
    }
    r.ok = false;
    const Value* desc = v.get("ErrorDescription");
    if (desc && desc->is_array()) {
      for (const auto& item : desc->array()) r.error.push_back(error_text(item));
    } else if (desc) {
      r.error.push_back(error_text(*desc));
    }
    if (r.error.empty()) r.error.push_back(status->str());
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  DecodeOptions opts_;
  size_t depth_ = 0;
  // Scratch stacks: members and items of the structs/arrays being parsed, so each finished
  // container is allocated once at its exact size.
  std::vector<std::pair<std::string, Value>> members_;
  std::vector<Value> items_;
};

}  // namespace

Response xmlrpc_decode_response(std::string_view body, const DecodeOptions& opts) {
  return Parser(body, opts).response();
}

Call xmlrpc_decode_call(std::string_view body, const DecodeOptions& opts) { return Parser(body, opts).call(); }

Struct xmlrpc_decode_members(std::string_view run, size_t depth, const DecodeOptions& opts) {
  return Parser(run, opts).members_run(depth);
}

}  // namespace xapi
