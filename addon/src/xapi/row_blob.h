// The one home of the mirror's encoded row form: how a record is laid out as bytes, written by
// BlobWriter (the mirror's writer thread) and read in place by BlobCursor (queries, JS and JSON
// readers). Plain C++, header-only so the hot paths inline; no locks, no N-API, no schema:
// what a value means is decided by its callers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "xapi/value.h"

namespace xapi {

// Layout of a row (Row::data):
//   u32 slot count, then one u32 per datamodel field id: offset of its value in the row, 0 when
//   the record has no such field; then the values.
// Layout of a value: one BlobTag byte, then
//   String    varint length, bytes
//   Int       8 bytes (int64, host order)
//   Double    8 bytes (IEEE double, host order)
//   True, False, Nil: nothing
//   DateTime  varint length, wire text, 1 byte (1: parsed), 8 bytes epoch ms (int64)
//   Array     varint item count, u32 byte length of the items, the items
//   Struct    varint member count, u32 byte length of the members, per member a varint
//             length and the key's bytes, then its value
// The fixed u32 length lets a reader step over a container in O(1).
enum class BlobTag : uint8_t { Nil = 0, String = 1, Int = 2, Double = 3, False = 4, True = 5, DateTime = 6, Array = 7, Struct = 8 };

// Appends encoded values (and a row's header) to a byte string.
class BlobWriter {
 public:
  explicit BlobWriter(std::string& out) : out_(out) {}

  // Row header for `slots` fields, all absent; the caller then marks and writes each field.
  void begin_row(uint32_t slots) {
    out_.assign(4 + 4 * static_cast<size_t>(slots), '\0');
    put_u32(0, slots);
  }
  // The next value written is field `id` of the row begun above.
  void mark_field(int id) { put_u32(4 + 4 * static_cast<size_t>(id), static_cast<uint32_t>(out_.size())); }

  void nil() { tag(BlobTag::Nil); }
  void boolean(bool b) { tag(b ? BlobTag::True : BlobTag::False); }
  void string(std::string_view s) {
    tag(BlobTag::String);
    bytes(s);
  }
  void integer(int64_t i) {
    tag(BlobTag::Int);
    out_.append(reinterpret_cast<const char*>(&i), 8);
  }
  void dbl(double d) {
    tag(BlobTag::Double);
    out_.append(reinterpret_cast<const char*>(&d), 8);
  }
  void datetime(const DateTime& dt) {
    tag(BlobTag::DateTime);
    bytes(dt.text);
    out_.push_back(dt.valid ? 1 : 0);
    out_.append(reinterpret_cast<const char*>(&dt.epoch_ms), 8);
  }
  // A container of `count` items (Array) or members (Struct): open, write them (for a Struct,
  // key() before each value), close with what open returned.
  size_t open(BlobTag container, size_t count) {
    tag(container);
    varint(count);
    size_t mark = out_.size();
    out_.append(4, '\0');
    return mark;
  }
  void key(std::string_view k) { bytes(k); }
  void close(size_t mark) { put_u32(mark, static_cast<uint32_t>(out_.size() - mark - 4)); }

 private:
  void tag(BlobTag t) { out_.push_back(static_cast<char>(t)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void bytes(std::string_view s) {
    varint(s.size());
    out_.append(s.data(), s.size());
  }
  void put_u32(size_t at, uint32_t v) { memcpy(&out_[at], &v, 4); }

  std::string& out_;
};

// One encoded value as read in place. For a container, `count` and `body` (its first item or
// member) are set; read the items with a BlobCursor at `body`. `end` is the byte after it.
struct BlobValue {
  BlobTag tag = BlobTag::Nil;
  std::string_view text;  // String; DateTime: its wire text
  int64_t integer = 0;    // Int; DateTime: epoch ms when `valid`
  double dbl = 0;         // Double
  bool valid = false;     // DateTime: the text parsed
  uint64_t count = 0;     // Array: items; Struct: members
  const uint8_t* body = nullptr;
  const uint8_t* end = nullptr;

  bool boolean() const { return tag == BlobTag::True; }
};

// Reads encoded values one after another: value() reads the one at the cursor and steps past
// it (a container as a whole); key() reads a Struct member's name, before its value().
class BlobCursor {
 public:
  explicit BlobCursor(const uint8_t* p) : p_(p) {}

  std::string_view key() { return bytes(); }

  BlobValue value() {
    BlobValue v;
    v.tag = static_cast<BlobTag>(*p_++);
    switch (v.tag) {
      case BlobTag::Nil:
      case BlobTag::True:
      case BlobTag::False:
        break;
      case BlobTag::String:
        v.text = bytes();
        break;
      case BlobTag::Int:
        memcpy(&v.integer, p_, 8);
        p_ += 8;
        break;
      case BlobTag::Double:
        memcpy(&v.dbl, p_, 8);
        p_ += 8;
        break;
      case BlobTag::DateTime:
        v.text = bytes();
        v.valid = *p_++ != 0;
        memcpy(&v.integer, p_, 8);
        p_ += 8;
        break;
      case BlobTag::Array:
      case BlobTag::Struct: {
        v.count = varint();
        uint32_t len;
        memcpy(&len, p_, 4);
        v.body = p_ + 4;
        p_ = v.body + len;
        break;
      }
    }
    v.end = p_;
    return v;
  }

 private:
  uint64_t varint() {
    uint64_t v = 0;
    int shift = 0;
    for (;;) {
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7;
    }
  }
  std::string_view bytes() {
    uint64_t n = varint();
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

  const uint8_t* p_;
};

// Member `k` of an encoded struct, into `out`; false when `s` is not a struct or has no such key.
inline bool blob_member(const BlobValue& s, std::string_view k, BlobValue* out) {
  if (s.tag != BlobTag::Struct) return false;
  BlobCursor c(s.body);
  for (uint64_t i = 0; i < s.count; i++) {
    bool hit = c.key() == k;
    BlobValue v = c.value();
    if (hit) {
      *out = v;
      return true;
    }
  }
  return false;
}

// The encoded value of field `id` of a row's bytes, or nullptr when the record has none.
inline const uint8_t* blob_row_field(const std::string& data, int id) {
  uint32_t slots;
  memcpy(&slots, data.data(), 4);
  if (id < 0 || static_cast<uint32_t>(id) >= slots) return nullptr;
  uint32_t off;
  memcpy(&off, data.data() + 4 + 4 * static_cast<size_t>(id), 4);
  return off == 0 ? nullptr : reinterpret_cast<const uint8_t*>(data.data()) + off;
}

}  // namespace xapi
