// XML-RPC encoder: Values, method calls and xapi's Status/Value response envelope as text, in
// the shape xapi's own serializer writes. Pure functions of their arguments: no I/O, no
// decoding (xmlrpc_decode.cc), and output always escaped and valid UTF-8 (bad input is repaired).
#include <charconv>
#include <cmath>
#include <cstdio>

#include "xapi/datetime.h"
#include "xapi/utf8.h"
#include "xapi/xmlrpc.h"

namespace xapi {
namespace {

void append_escaped(std::string& out, std::string_view s) {
  if (!utf8_valid(s)) {
    std::string repaired;
    utf8_append_repaired(repaired, s);
    append_escaped(out, repaired);
    return;
  }
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    const char* rep = nullptr;
    char num[8];
    if (c == '<') {
      rep = "&lt;";
    } else if (c == '>') {
      rep = "&gt;";
    } else if (c == '&') {
      rep = "&amp;";
    } else if (c < 0x20 && c != '\t' && c != '\n') {
      // CR as a reference survives XML line-end normalisation; other controls are not XML 1.0
      // characters at all, but a reference keeps the data for lenient parsers (xapi drops them).
      std::snprintf(num, sizeof num, "&#%u;", c);
      rep = num;
    }
    if (rep) {
      out.append(s.data() + run, i - run);
      out.append(rep);
      run = i + 1;
    }
  }
  out.append(s.data() + run, s.size() - run);
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out.append("nan");
  } else if (std::isinf(d)) {
    out.append(d > 0 ? "inf" : "-inf");
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
    out.append(text);
    // Keep it recognisably floating so a decoder that types numbers by shape keeps it a double.
    if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
  }
}

void append_int(std::string& out, int64_t i) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

void encode_value(std::string& out, const Value& v, const XmlRpcEncodeOptions& opts) {
  out.append("<value>");
  switch (v.kind()) {
    case Value::Kind::Nil:
      out.append("<nil/>");
      break;
    case Value::Kind::String:
      append_escaped(out, v.str());
      break;
    case Value::Kind::Int:
      if (opts.ints == XmlRpcEncodeOptions::Ints::I8) {
        out.append("<i8>");
        append_int(out, v.integer());
        out.append("</i8>");
      } else {
        append_int(out, v.integer());
      }
      break;
    case Value::Kind::Double:
      out.append("<double>");
      append_double(out, v.dbl());
      out.append("</double>");
      break;
    case Value::Kind::Bool:
      out.append(v.boolean() ? "<boolean>1</boolean>" : "<boolean>0</boolean>");
      break;
    case Value::Kind::DateTime: {
      const DateTime& dt = v.datetime();
      out.append("<dateTime.iso8601>");
      if (!dt.text.empty())
        append_escaped(out, dt.text);
      else
        out.append(format_datetime(dt.epoch_ms));
      out.append("</dateTime.iso8601>");
      break;
    }
    case Value::Kind::Array:
      out.append("<array><data>");
      for (const auto& item : v.array()) encode_value(out, item, opts);
      out.append("</data></array>");
      break;
    case Value::Kind::Struct:
      out.append("<struct>");
      for (const auto& m : v.members()) {
        out.append("<member><name>");
        append_escaped(out, m.first);
        out.append("</name>");
        encode_value(out, m.second, opts);
        out.append("</member>");
      }
      out.append("</struct>");
      break;
  }
  out.append("</value>");
}

}  // namespace

void xmlrpc_encode_value(std::string& out, const Value& v, const XmlRpcEncodeOptions& opts) {
  encode_value(out, v, opts);
}

std::string xmlrpc_encode_call(std::string_view method, const Array& params, const XmlRpcEncodeOptions& opts) {
  std::string out;
  out.reserve(256);
  out.append("<?xml version=\"1.0\"?><methodCall><methodName>");
  append_escaped(out, method);
  out.append("</methodName><params>");
  for (const auto& p : params) {
    out.append("<param>");
    encode_value(out, p, opts);
    out.append("</param>");
  }
  out.append("</params></methodCall>");
  return out;
}

std::string xmlrpc_encode_response(const Response& response, const XmlRpcEncodeOptions& opts) {
  std::string out;
  out.append("<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>");
  if (response.ok) {
    out.append("<member><name>Status</name><value>Success</value></member><member><name>Value</name>");
    encode_value(out, response.value, opts);
  } else {
    out.append("<member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>");
    out.append("<value><array><data>");
    for (const auto& e : response.error) {
      out.append("<value>");
      append_escaped(out, e);
      out.append("</value>");
    }
    out.append("</data></array></value>");
  }
  out.append("</member></struct></value></param></params></methodResponse>");
  return out;
}


}  // namespace xapi
