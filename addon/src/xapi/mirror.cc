// The native mirror's storage and queries (see mirror.h). Records are encoded once on the
// writer thread; readers share rows by pointer and never copy a class under the lock.
#include "xapi/mirror.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "xapi/datetime.h"

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

// Encodes values by their datamodel type without touching the decoded tree. Keeps a scratch
// buffer (rows get an exact-size copy) and the field order of the previous record, since
// records of one class nearly always list their fields in the same order.
struct Mirror::Builder {
  const Schema& schema;
  std::string scratch;
  std::vector<int> hint;

  explicit Builder(const Schema& s) : schema(s) {}

  void typed(std::string& out, const Value& v, int type_id) {
    if (type_id < 0) return encode(out, v);
    const Type& t = schema.type(type_id);
    switch (t.kind) {
      case Type::Kind::Int:
        if (v.is_string()) {
          const std::string& s = v.str();
          if (!s.empty() && s.size() <= 20) {
            char* end = nullptr;
            errno = 0;
            long long i = strtoll(s.c_str(), &end, 10);
            if (errno == 0 && *end == '\0') return encode(out, Value(static_cast<int64_t>(i)));
          }
        } else if (v.kind() == Value::Kind::Double) {
          double d = v.dbl();
          if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18)
            return encode(out, Value(static_cast<int64_t>(d)));
        }
        return encode(out, v);
      case Type::Kind::Float:
        if (v.kind() == Value::Kind::Int) return encode(out, Value(static_cast<double>(v.integer())));
        if (v.is_string() && !v.str().empty()) {
          char* end = nullptr;
          double d = strtod(v.str().c_str(), &end);
          if (*end == '\0') return encode(out, Value(d));
        }
        return encode(out, v);
      case Type::Kind::Bool:
        if (v.is_string()) {
          const std::string& s = v.str();
          if (s == "true" || s == "1") return encode(out, Value(true));
          if (s == "false" || s == "0") return encode(out, Value(false));
        } else if (v.kind() == Value::Kind::Int) {
          return encode(out, Value(v.integer() != 0));
        }
        return encode(out, v);
      case Type::Kind::DateTime:
        if (v.is_string()) return encode(out, Value(parse_datetime(v.str())));
        return encode(out, v);
      case Type::Kind::Set:
      case Type::Kind::Map:
        if ((t.kind == Type::Kind::Set && v.is_array()) || (t.kind == Type::Kind::Map && v.is_struct())) {
          bool arr = v.is_array();
          out.push_back(static_cast<char>(arr ? BlobTag::Array : BlobTag::Struct));
          put_varint(out, arr ? v.array().size() : v.members().size());
          size_t len_at = out.size();
          out.append(4, '\0');
          size_t start = out.size();
          if (arr) {
            for (auto& e : v.array()) typed(out, e, t.elem);
          } else {
            for (auto& m : v.members()) {
              put_bytes(out, m.first);
              typed(out, m.second, t.elem);
            }
          }
          put_u32(out, len_at, static_cast<uint32_t>(out.size() - start));
          return;
        }
        return encode(out, v);
      case Type::Kind::Record:
        if (v.is_struct() && t.cls >= 0) {
          Value copy = v;
          schema.coerce_record(copy, t.cls);
          return encode(out, copy);
        }
        return encode(out, v);
      default:
        return encode(out, v);
    }
  }

  RowPtr build(int cls, const std::string& ref, const Value& record) {
    const ClassSchema& cs = schema.cls(cls);
    auto row = std::make_shared<Row>();
    row->ref = ref;
    uint32_t slots = static_cast<uint32_t>(cs.fields.size());
    scratch.assign(4 + 4 * static_cast<size_t>(slots), '\0');
    put_u32(scratch, 0, slots);
    if (record.is_struct()) {
      const Struct& members = record.members();
      if (hint.size() < members.size()) hint.resize(members.size(), -1);
      for (size_t k = 0; k < members.size(); k++) {
        const auto& m = members[k];
        int id = hint[k];
        if (id < 0 || cs.fields[static_cast<size_t>(id)] != m.first) {
          auto it = cs.field_ids.find(m.first);
          id = it == cs.field_ids.end() ? -1 : it->second;
          hint[k] = id;
        }
        if (id < 0) continue;  // fields newer than our datamodel are not kept
        put_u32(scratch, 4 + 4 * static_cast<size_t>(id), static_cast<uint32_t>(scratch.size()));
        typed(scratch, m.second, cs.field_types[static_cast<size_t>(id)]);
        if (m.second.is_string() && m.first == "uuid") row->uuid = m.second.str();
      }
    }
    row->data.assign(scratch.data(), scratch.size());
    return row;
  }
};

RowPtr Mirror::make_row(int cls, const std::string& ref, const Value& record) const {
  Builder b(*schema_);
  return b.build(cls, ref, record);
}

std::vector<RowPtr> Mirror::rows_of_all_records(int cls, const Value& all) const {
  std::vector<RowPtr> rows;
  if (!all.is_struct()) return rows;
  const auto& members = all.members();
  rows.resize(members.size());
  auto convert = [&](size_t from, size_t to) {
    Builder b(*schema_);
    for (size_t i = from; i < to; i++) rows[i] = b.build(cls, members[i].first, members[i].second);
  };
  size_t n = members.size();
  if (n >= 2000) {
    std::thread helper(convert, n / 2, n);
    convert(0, n / 2);
    helper.join();
  } else {
    convert(0, n);
  }
  return rows;
}

void Mirror::replace_class(int cls, std::vector<RowPtr> rows, std::vector<Change>* changes) {
  if (!mirrored(cls)) return;
  auto fresh = std::make_unique<Table>();
  Table& old = *tables_[static_cast<size_t>(cls)];  // only the stream owning cls mutates its table
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
