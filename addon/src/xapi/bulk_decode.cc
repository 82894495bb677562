// Decoding of large get_all_records bodies in pieces (see bulk_decode.h). The cuts are only an
// optimisation: a wrong cut leaves unbalanced markup in a piece, which the codec rejects, and
// then the whole body is decoded in one piece. Pieces are decoded in place (never copied) and
// shared with a helper thread only while a core is spare (work_share.h).
#include "xapi/bulk_decode.h"

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xapi/jsonrpc.h"
#include "xapi/work_share.h"
#include "xapi/xmlrpc.h"

namespace xapi {

namespace {

constexpr size_t kMinBulk = 2u << 20;     // below this, one thread is as fast
constexpr size_t kPieceBytes = 1u << 20;  // claimed one at a time: the most a late helper holds up
constexpr size_t kMaxPieces = 256;
// The records map sits two levels deep: the document (or xapi's Status/Value struct), then it.
constexpr size_t kMapDepth = 2;

// [begin, end): the inside of the ref -> record map, between its braces or struct tags.
struct Span {
  size_t begin, end;
};

std::optional<Span> xml_map(std::string_view b) {
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
  return Span{begin, end};
}

std::optional<Span> json_map(std::string_view b) {
  size_t key = b.find("\"result\":{");
  if (key == std::string_view::npos || key > 64) return std::nullopt;
  size_t begin = key + strlen("\"result\":{");
  // The tail is `},"id":ID}` (xapi writes the id last).
  size_t last = b.find_last_not_of(" \r\n\t");
  if (last == std::string_view::npos || b[last] != '}') return std::nullopt;
  size_t id = b.rfind(",\"id\":");
  if (id == std::string_view::npos || id <= begin || b[id - 1] != '}') return std::nullopt;
  if (b.substr(id, last - id).find('}') != std::string_view::npos) return std::nullopt;
  return Span{begin, id - 1};
}

// The first boundary between two records at or after `from`: where the piece before it ends and
// the next one starts (JSON skips the comma between them).
std::optional<std::pair<size_t, size_t>> xml_boundary(std::string_view b, size_t from, size_t end) {
  constexpr std::string_view kMember = "<member><name>OpaqueRef:";
  for (size_t p = b.find(kMember, from); p != std::string_view::npos && p < end; p = b.find(kMember, p + 1)) {
    size_t close = b.find("</name>", p + kMember.size());
    if (close != std::string_view::npos && b.compare(close, 22, "</name><value><struct>") == 0)
      return std::make_pair(p, p);
  }
  return std::nullopt;
}

std::optional<std::pair<size_t, size_t>> json_boundary(std::string_view b, size_t from, size_t end) {
  constexpr std::string_view kNext = "},\"OpaqueRef:";
  for (size_t p = b.find(kNext, from); p != std::string_view::npos && p < end; p = b.find(kNext, p + 1)) {
    size_t q = b.find('"', p + kNext.size());
    if (q != std::string_view::npos && b.compare(q, 3, "\":{") == 0) return std::make_pair(p + 1, p + 2);
  }
  return std::nullopt;
}

std::vector<Span> pieces_of(std::string_view b, Span map, Protocol p) {
  std::vector<Span> pieces;
  size_t start = map.begin;
  while (pieces.size() + 1 < kMaxPieces && start + kPieceBytes < map.end) {
    auto cut = p == Protocol::JsonRpc ? json_boundary(b, start + kPieceBytes, map.end)
                                      : xml_boundary(b, start + kPieceBytes, map.end);
    if (!cut) break;
    pieces.push_back({start, cut->first});
    start = cut->second;
  }
  pieces.push_back({start, map.end});
  return pieces;
}

Response decode_one(std::string_view body, Protocol p) {
  return p == Protocol::JsonRpc ? jsonrpc_decode_response(body) : xmlrpc_decode_response(body);
}

// The body with the map emptied must decode as a successful, empty map: everything outside the
// pieces is then exactly what the codec accepts.
bool envelope_ok(std::string_view b, Span map, Protocol p) {
  std::string doc;
  doc.reserve(map.begin + (b.size() - map.end));
  doc.append(b.substr(0, map.begin));
  doc.append(b.substr(map.end));
  try {
    Response r = decode_one(doc, p);
    return r.ok && r.value.is_struct() && r.value.members().empty();
  } catch (const DecodeError&) {
    return false;
  }
}

}  // namespace

Response decode_bulk(std::string_view body, Protocol protocol, Sharing sharing, size_t* pieces_out) {
  if (pieces_out) *pieces_out = 0;
  if (body.size() < kMinBulk || !take_helper(sharing)) return decode_one(body, protocol);
  std::optional<Span> map = protocol == Protocol::JsonRpc ? json_map(body) : xml_map(body);
  if (!map) return decode_one(body, protocol);
  std::vector<Span> pieces = pieces_of(body, *map, protocol);
  if (pieces.size() < 2 || !envelope_ok(body, *map, protocol)) return decode_one(body, protocol);
  std::vector<Struct> parts(pieces.size());
  try {
    share_chunks(pieces.size(), true, [&](size_t i) {
      std::string_view run = body.substr(pieces[i].begin, pieces[i].end - pieces[i].begin);
      parts[i] = protocol == Protocol::JsonRpc ? json_decode_members(run, kMapDepth)
                                               : xmlrpc_decode_members(run, kMapDepth);
    });
  } catch (const DecodeError&) {
    parts.clear();
    return decode_one(body, protocol);
  }
  size_t total = 0;
  for (auto& part : parts) total += part.size();
  Struct all;
  all.reserve(total);
  for (auto& part : parts)
    for (auto& m : part) all.push_back(std::move(m));
  if (pieces_out) *pieces_out = pieces.size();
  Response r;
  r.value = Value(std::move(all));
  return r;
}

}  // namespace xapi
