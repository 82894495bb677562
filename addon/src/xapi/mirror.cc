// The native mirror's storage and queries (see mirror.h). Records are encoded once on the
// writer thread; readers share rows by pointer and never copy a class under the lock.
#include "xapi/mirror.h"

#include <cmath>
#include <cstring>
#include <mutex>

namespace xapi {

namespace {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_u32(std::string& out, size_t at, uint32_t v) { memcpy(&out[at], &v, 4); }

void put_bytes(std::string& out, const std::string& s) {
  put_varint(out, s.size());
  out.append(s);
}

void encode(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Nil:
      out.push_back(static_cast<char>(BlobTag::Nil));
      return;
    case Value::Kind::String:
      out.push_back(static_cast<char>(BlobTag::String));
      put_bytes(out, v.str());
      return;
    case Value::Kind::Int: {
      out.push_back(static_cast<char>(BlobTag::Int));
      int64_t i = v.integer();
      out.append(reinterpret_cast<const char*>(&i), 8);
      return;
    }
    case Value::Kind::Double: {
      out.push_back(static_cast<char>(BlobTag::Double));
      double d = v.dbl();
      out.append(reinterpret_cast<const char*>(&d), 8);
      return;
    }
    case Value::Kind::Bool:
      out.push_back(static_cast<char>(v.boolean() ? BlobTag::True : BlobTag::False));
      return;
    case Value::Kind::DateTime: {
      const DateTime& dt = v.datetime();
      out.push_back(static_cast<char>(BlobTag::DateTime));
      put_bytes(out, dt.text);
      out.push_back(dt.valid ? 1 : 0);
      out.append(reinterpret_cast<const char*>(&dt.epoch_ms), 8);
      return;
    }
    case Value::Kind::Array:
    case Value::Kind::Struct: {
      bool arr = v.kind() == Value::Kind::Array;
      out.push_back(static_cast<char>(arr ? BlobTag::Array : BlobTag::Struct));
      put_varint(out, arr ? v.array().size() : v.members().size());
      // Byte length of the content follows as a fixed u32 so readers can skip it in O(1).
      size_t len_at = out.size();
      out.append(4, '\0');
      size_t start = out.size();
      if (arr) {
        for (auto& e : v.array()) encode(out, e);
      } else {
        for (auto& m : v.members()) {
          put_bytes(out, m.first);
          encode(out, m.second);
        }
      }
      put_u32(out, len_at, static_cast<uint32_t>(out.size() - start));
      return;
    }
  }
}

// Reads an encoded scalar as a comparable value; false for containers.
bool scalar_equals(const uint8_t* p, const Value& want) {
  auto tag = static_cast<BlobTag>(*p++);
  switch (tag) {
    case BlobTag::String: {
      uint64_t n = blob_varint(p);
      return want.is_string() && want.str().size() == n && memcmp(want.str().data(), p, n) == 0;
    }
    case BlobTag::DateTime: {
      uint64_t n = blob_varint(p);
      return want.is_string() && want.str().size() == n && memcmp(want.str().data(), p, n) == 0;
    }
    case BlobTag::Int: {
      int64_t i;
      memcpy(&i, p, 8);
      if (want.kind() == Value::Kind::Int) return want.integer() == i;
      if (want.kind() == Value::Kind::Double) return want.dbl() == static_cast<double>(i);
      return false;
    }
    case BlobTag::Double: {
      double d;
      memcpy(&d, p, 8);
      if (want.kind() == Value::Kind::Double) return want.dbl() == d;
      if (want.kind() == Value::Kind::Int) return static_cast<double>(want.integer()) == d;
      return false;
    }
    case BlobTag::True:
      return want.kind() == Value::Kind::Bool && want.boolean();
    case BlobTag::False:
      return want.kind() == Value::Kind::Bool && !want.boolean();
    default:
      return false;
  }
}

// Equality of a stored value with a wanted scalar; for a set, membership.
bool value_matches(const uint8_t* p, const Value& want) {
  if (static_cast<BlobTag>(*p) == BlobTag::Array) {
    const uint8_t* q = p + 1;
    uint64_t n = blob_varint(q);
    q += 4;
    for (uint64_t i = 0; i < n; i++) {
      if (scalar_equals(q, want)) return true;
      q = blob_skip(q);
    }
    return false;
  }
  return scalar_equals(p, want);
}

// Finds member `key` of an encoded struct; nullptr when absent or not a struct.
const uint8_t* struct_member(const uint8_t* p, const std::string& key) {
  if (static_cast<BlobTag>(*p) != BlobTag::Struct) return nullptr;
  p++;
  uint64_t n = blob_varint(p);
  p += 4;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t klen = blob_varint(p);
    bool hit = klen == key.size() && memcmp(p, key.data(), klen) == 0;
    p += klen;
    if (hit) return p;
    p = blob_skip(p);
  }
  return nullptr;
}

}  // namespace

uint64_t blob_varint(const uint8_t*& p) {
  uint64_t v = 0;
  int shift = 0;
  for (;;) {
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
    shift += 7;
  }
}

const uint8_t* blob_skip(const uint8_t* p) {
  auto tag = static_cast<BlobTag>(*p++);
  switch (tag) {
    case BlobTag::Nil:
    case BlobTag::True:
    case BlobTag::False:
      return p;
    case BlobTag::String: {
      uint64_t n = blob_varint(p);
      return p + n;
    }
    case BlobTag::Int:
    case BlobTag::Double:
      return p + 8;
    case BlobTag::DateTime: {
      uint64_t n = blob_varint(p);
      return p + n + 9;
    }
    case BlobTag::Array:
    case BlobTag::Struct: {
      blob_varint(p);
      uint32_t len;
      memcpy(&len, p, 4);
      return p + 4 + len;
    }
  }
  return p;
}

const uint8_t* Row::field(int id) const {
  uint32_t slots;
  memcpy(&slots, data.data(), 4);
  if (id < 0 || static_cast<uint32_t>(id) >= slots) return nullptr;
  uint32_t off;
  memcpy(&off, data.data() + 4 + 4 * static_cast<size_t>(id), 4);
  return off == 0 ? nullptr : reinterpret_cast<const uint8_t*>(data.data()) + off;
}

Mirror::Mirror(std::shared_ptr<const Schema> schema, std::vector<int> classes)
    : schema_(std::move(schema)), classes_(std::move(classes)) {
  tables_.resize(schema_->class_count());
  for (int c : classes_) tables_[static_cast<size_t>(c)] = std::make_unique<Table>();
}

bool Mirror::mirrored(int cls) const {
  return cls >= 0 && static_cast<size_t>(cls) < tables_.size() && tables_[static_cast<size_t>(cls)] != nullptr;
}

RowPtr Mirror::make_row(int cls, const std::string& ref, Value& record) const {
  const ClassSchema& cs = schema_->cls(cls);
  schema_->coerce_record(record, cls);
  auto row = std::make_shared<Row>();
  row->ref = ref;
  uint32_t slots = static_cast<uint32_t>(cs.fields.size());
  std::string& out = row->data;
  out.reserve(4 + 4 * slots + 1024);
  out.resize(4 + 4 * static_cast<size_t>(slots), '\0');
  put_u32(out, 0, slots);
  if (record.is_struct()) {
    for (auto& m : record.members()) {
      auto it = cs.field_ids.find(m.first);
      if (it == cs.field_ids.end()) continue;  // fields newer than our datamodel are not kept
      put_u32(out, 4 + 4 * static_cast<size_t>(it->second), static_cast<uint32_t>(out.size()));
      encode(out, m.second);
      if (m.first == "uuid" && m.second.is_string()) row->uuid = m.second.str();
    }
  }
  out.shrink_to_fit();
  return row;
}

void Mirror::replace_class(int cls, std::vector<RowPtr> rows, std::vector<Change>* changes) {
  if (!mirrored(cls)) return;
  auto fresh = std::make_unique<Table>();
  Table& old = *tables_[static_cast<size_t>(cls)];  // only this (writer) thread mutates tables
  for (auto& r : rows) {
    auto it = old.by_ref.find(r->ref);
    if (changes) {
      if (it == old.by_ref.end()) changes->push_back({cls, 'a', r->ref, r->uuid});
      else if (it->second->data != r->data) changes->push_back({cls, 'm', r->ref, r->uuid});
    }
    if (!r->uuid.empty()) fresh->ref_of_uuid[r->uuid] = r->ref;
    std::string ref = r->ref;
    fresh->by_ref.emplace(std::move(ref), std::move(r));
  }
  if (changes)
    for (auto& [ref, row] : old.by_ref)
      if (!fresh->by_ref.count(ref)) changes->push_back({cls, 'd', ref, row->uuid});
  std::unique_ptr<Table> dead;
  {
    std::unique_lock<std::shared_mutex> lk(mu_);
    dead = std::move(tables_[static_cast<size_t>(cls)]);
    tables_[static_cast<size_t>(cls)] = std::move(fresh);
  }
  // `dead` (possibly thousands of rows) is freed here, outside the lock.
}

void Mirror::apply(std::vector<Update>& updates, std::vector<Change>* changes) {
  std::vector<RowPtr> dead;
  std::unique_lock<std::shared_mutex> lk(mu_);
  for (auto& u : updates) {
    if (!mirrored(u.cls)) continue;
    Table& t = *tables_[static_cast<size_t>(u.cls)];
    auto it = t.by_ref.find(u.ref);
    if (u.op == 'd' || !u.row) {
      if (it == t.by_ref.end()) continue;
      if (changes) changes->push_back({u.cls, 'd', u.ref, it->second->uuid});
      t.ref_of_uuid.erase(it->second->uuid);
      dead.push_back(std::move(it->second));
      t.by_ref.erase(it);
      continue;
    }
    if (it == t.by_ref.end()) {
      if (changes) changes->push_back({u.cls, 'a', u.ref, u.row->uuid});
      if (!u.row->uuid.empty()) t.ref_of_uuid[u.row->uuid] = u.ref;
      t.by_ref.emplace(u.ref, std::move(u.row));
    } else {
      if (it->second->data == u.row->data) continue;
      if (changes) changes->push_back({u.cls, 'm', u.ref, u.row->uuid});
      if (it->second->uuid != u.row->uuid) {
        t.ref_of_uuid.erase(it->second->uuid);
        if (!u.row->uuid.empty()) t.ref_of_uuid[u.row->uuid] = u.ref;
      }
      dead.push_back(std::move(it->second));
      it->second = std::move(u.row);
    }
  }
  lk.unlock();
}

void Mirror::clear() {
  std::vector<std::unique_ptr<Table>> dead;
  std::unique_lock<std::shared_mutex> lk(mu_);
  for (auto& t : tables_)
    if (t) {
      dead.push_back(std::move(t));
      t = std::make_unique<Table>();
    }
}

RowPtr Mirror::get(int cls, const std::string& ref) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (!mirrored(cls)) return nullptr;
  const Table& t = *tables_[static_cast<size_t>(cls)];
  auto it = t.by_ref.find(ref);
  return it == t.by_ref.end() ? nullptr : it->second;
}

RowPtr Mirror::get_by_uuid(int cls, const std::string& uuid) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (!mirrored(cls)) return nullptr;
  const Table& t = *tables_[static_cast<size_t>(cls)];
  auto u = t.ref_of_uuid.find(uuid);
  if (u == t.ref_of_uuid.end()) return nullptr;
  auto it = t.by_ref.find(u->second);
  return it == t.by_ref.end() ? nullptr : it->second;
}

bool Mirror::matches(const Row& row, const std::vector<Cond>& where) const {
  for (const Cond& c : where) {
    const uint8_t* p = row.field(c.field);
    if (p && c.has_key) p = struct_member(p, c.key);
    switch (c.op) {
      case Cond::Op::Exists:
        if (!p) return false;
        break;
      case Cond::Op::Missing:
        if (p) return false;
        break;
      case Cond::Op::Eq:
      case Cond::Op::In: {
        if (!p) return false;
        bool any = false;
        for (auto& v : c.values)
          if (value_matches(p, v)) {
            any = true;
            break;
          }
        if (!any) return false;
        break;
      }
    }
  }
  return true;
}

std::vector<RowPtr> Mirror::query(int cls, const std::vector<Cond>& where, size_t offset, size_t limit) const {
  std::vector<RowPtr> out;
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (!mirrored(cls)) return out;
  const Table& t = *tables_[static_cast<size_t>(cls)];
  size_t skipped = 0;
  for (auto& [ref, row] : t.by_ref) {
    if (out.size() >= limit) break;
    if (!matches(*row, where)) continue;
    if (skipped < offset) {
      skipped++;
      continue;
    }
    out.push_back(row);
  }
  return out;
}

size_t Mirror::count(int cls, const std::vector<Cond>& where) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (!mirrored(cls)) return 0;
  const Table& t = *tables_[static_cast<size_t>(cls)];
  if (where.empty()) return t.by_ref.size();
  size_t n = 0;
  for (auto& [ref, row] : t.by_ref)
    if (matches(*row, where)) n++;
  return n;
}

size_t Mirror::size(int cls) const { return count(cls, {}); }

}  // namespace xapi
