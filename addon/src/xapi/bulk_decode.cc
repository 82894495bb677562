// Two-thread decoding of get_all_records bodies (see bulk_decode.h). The cut is only an
// optimisation: a wrong cut leaves unbalanced markup in a half, which the codec rejects, and
// then the whole body is decoded in one piece.
#include "xapi/bulk_decode.h"

#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "xapi/jsonrpc.h"
#include "xapi/xmlrpc.h"

namespace xapi {

namespace {

constexpr size_t kMinBulk = 2u << 20;  // below this, one thread is as fast

struct Cut {
  size_t begin, mid_end, mid_begin, end;  // content [begin, mid_end) and [mid_begin, end)
};

std::optional<Cut> xml_cut(std::string_view b) {
  size_t status = b.find("<name>Status</name>");
  size_t value = b.find("<name>Value</name>");
  if (status == std::string_view::npos || value == std::string_view::npos || value < status) return std::nullopt;
  if (b.substr(status, 64).find("Success") == std::string_view::npos) return std::nullopt;
  size_t open = b.find("<value><struct>", value);
  if (open == std::string_view::npos || open > value + 64) return std::nullopt;
  size_t begin = open + strlen("<value><struct>");
  size_t last = b.rfind("</struct>");
  if (last == std::string_view::npos || last <= begin) return std::nullopt;
  size_t end = b.rfind("</struct>", last - 1);
  if (end == std::string_view::npos || end <= begin) return std::nullopt;
  constexpr std::string_view kMember = "<member><name>OpaqueRef:";
  size_t p = b.find(kMember, begin + (end - begin) / 2);
  while (p != std::string_view::npos && p < end) {
    size_t close = b.find("</name>", p + kMember.size());
    if (close != std::string_view::npos && b.compare(close, 22, "</name><value><struct>") == 0)
      return Cut{begin, p, p, end};
    p = b.find(kMember, p + 1);
  }
  return std::nullopt;
}

std::optional<Cut> json_cut(std::string_view b) {
  size_t key = b.find("\"result\":{");
  if (key == std::string_view::npos || key > 64) return std::nullopt;
  size_t begin = key + strlen("\"result\":{");
  // The tail is `},"id":ID}` (xapi writes the id last).
  size_t last = b.find_last_not_of(" \r\n\t");
  if (last == std::string_view::npos || b[last] != '}') return std::nullopt;
  size_t id = b.rfind(",\"id\":");
  if (id == std::string_view::npos || id <= begin || b[id - 1] != '}') return std::nullopt;
  if (b.substr(id, last - id).find('}') != std::string_view::npos) return std::nullopt;
  size_t end = id - 1;
  constexpr std::string_view kNext = "},\"OpaqueRef:";
  size_t p = b.find(kNext, begin + (end - begin) / 2);
  while (p != std::string_view::npos && p < end) {
    size_t q = b.find('"', p + kNext.size());
    if (q != std::string_view::npos && b.compare(q, 3, "\":{") == 0) return Cut{begin, p + 1, p + 2, end};
    p = b.find(kNext, p + 1);
  }
  return std::nullopt;
}

Response decode_one(std::string_view body, Protocol p) {
  return p == Protocol::JsonRpc ? jsonrpc_decode_response(body) : xmlrpc_decode_response(body);
}

std::string wrap(std::string_view content, Protocol p) {
  std::string doc;
  if (p == Protocol::JsonRpc) {
    doc.reserve(content.size() + 48);
    doc += "{\"jsonrpc\":\"2.0\",\"result\":{";
    doc += content;
    doc += "},\"id\":0}";
  } else {
    doc.reserve(content.size() + 128);
    doc += "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>";
    doc += content;
    doc += "</struct></value></param></params></methodResponse>";
  }
  return doc;
}

}  // namespace

Response decode_bulk(std::string_view body, Protocol protocol) {
  if (body.size() < kMinBulk) return decode_one(body, protocol);
  std::optional<Cut> cut = protocol == Protocol::JsonRpc ? json_cut(body) : xml_cut(body);
  if (!cut) return decode_one(body, protocol);
  std::string second_doc = wrap(body.substr(cut->mid_begin, cut->end - cut->mid_begin), protocol);
  Response second;
  bool second_ok = true;
  std::thread helper([&] {
    try {
      second = decode_one(second_doc, protocol);
    } catch (const DecodeError&) {
      second_ok = false;
    }
  });
  Response first;
  bool first_ok = true;
  try {
    std::string first_doc = wrap(body.substr(cut->begin, cut->mid_end - cut->begin), protocol);
    first = decode_one(first_doc, protocol);
  } catch (const DecodeError&) {
    first_ok = false;
  }
  helper.join();
  if (!first_ok || !second_ok || !first.ok || !second.ok || !first.value.is_struct() || !second.value.is_struct())
    return decode_one(body, protocol);
  Struct& a = first.value.members();
  Struct& b = second.value.members();
  a.reserve(a.size() + b.size());
  for (auto& m : b) a.push_back(std::move(m));
  return first;
}

}  // namespace xapi
