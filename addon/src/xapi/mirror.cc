// The native mirror's storage and queries (see mirror.h). Records are encoded once on the
// writer thread, in the row form of row_blob.h (written and read only through its types);
// readers share rows by pointer and never copy a class under the lock.
#include "xapi/mirror.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <mutex>

#include "xapi/datetime.h"

namespace xapi {

namespace {

void encode(BlobWriter& w, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Nil:
      return w.nil();
    case Value::Kind::String:
      return w.string(v.str());
    case Value::Kind::Int:
      return w.integer(v.integer());
    case Value::Kind::Double:
      return w.dbl(v.dbl());
    case Value::Kind::Bool:
      return w.boolean(v.boolean());
    case Value::Kind::DateTime:
      return w.datetime(v.datetime());
    case Value::Kind::Array: {
      size_t mark = w.open(BlobTag::Array, v.array().size());
      for (auto& e : v.array()) encode(w, e);
      return w.close(mark);
    }
    case Value::Kind::Struct: {
      size_t mark = w.open(BlobTag::Struct, v.members().size());
      for (auto& m : v.members()) {
        w.key(m.first);
        encode(w, m.second);
      }
      return w.close(mark);
    }
  }
}

// Equality of an encoded scalar with a wanted scalar; false for containers. A datetime
// compares by its wire text.
bool scalar_equals(const BlobValue& v, const Value& want) {
  switch (v.tag) {
    case BlobTag::String:
    case BlobTag::DateTime:
      return want.is_string() && want.str() == v.text;
    case BlobTag::Int:
      if (want.kind() == Value::Kind::Int) return want.integer() == v.integer;
      if (want.kind() == Value::Kind::Double) return want.dbl() == static_cast<double>(v.integer);
      return false;
    case BlobTag::Double:
      if (want.kind() == Value::Kind::Double) return want.dbl() == v.dbl;
      if (want.kind() == Value::Kind::Int) return static_cast<double>(want.integer()) == v.dbl;
      return false;
    case BlobTag::True:
    case BlobTag::False:
      return want.kind() == Value::Kind::Bool && want.boolean() == v.boolean();
    default:
      return false;
  }
}

// Equality of a stored value with a wanted scalar; for a set, membership.
bool value_matches(const BlobValue& v, const Value& want) {
  if (v.tag != BlobTag::Array) return scalar_equals(v, want);
  BlobCursor items(v.body);
  for (uint64_t i = 0; i < v.count; i++)
    if (scalar_equals(items.value(), want)) return true;
  return false;
}

}  // namespace

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

  void typed(BlobWriter& w, const Value& v, int type_id) {
    if (type_id < 0) return encode(w, v);
    const Type& t = schema.type(type_id);
    switch (t.kind) {
      case Type::Kind::Int:
        if (v.is_string()) {
          const std::string& s = v.str();
          if (!s.empty() && s.size() <= 20) {
            char* end = nullptr;
            errno = 0;
            long long i = strtoll(s.c_str(), &end, 10);
            if (errno == 0 && *end == '\0') return w.integer(static_cast<int64_t>(i));
          }
        } else if (v.kind() == Value::Kind::Double) {
          double d = v.dbl();
          if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18)
            return w.integer(static_cast<int64_t>(d));
        }
        return encode(w, v);
      case Type::Kind::Float:
        if (v.kind() == Value::Kind::Int) return w.dbl(static_cast<double>(v.integer()));
        if (v.is_string() && !v.str().empty()) {
          char* end = nullptr;
          double d = strtod(v.str().c_str(), &end);
          if (*end == '\0') return w.dbl(d);
        }
        return encode(w, v);
      case Type::Kind::Bool:
        if (v.is_string()) {
          const std::string& s = v.str();
          if (s == "true" || s == "1") return w.boolean(true);
          if (s == "false" || s == "0") return w.boolean(false);
        } else if (v.kind() == Value::Kind::Int) {
          return w.boolean(v.integer() != 0);
        }
        return encode(w, v);
      case Type::Kind::DateTime:
        if (v.is_string()) return w.datetime(parse_datetime(v.str()));
        return encode(w, v);
      case Type::Kind::Set:
      case Type::Kind::Map:
        if ((t.kind == Type::Kind::Set && v.is_array()) || (t.kind == Type::Kind::Map && v.is_struct())) {
          if (v.is_array()) {
            size_t mark = w.open(BlobTag::Array, v.array().size());
            for (auto& e : v.array()) typed(w, e, t.elem);
            return w.close(mark);
          }
          size_t mark = w.open(BlobTag::Struct, v.members().size());
          for (auto& m : v.members()) {
            w.key(m.first);
            typed(w, m.second, t.elem);
          }
          return w.close(mark);
        }
        return encode(w, v);
      case Type::Kind::Record:
        if (v.is_struct() && t.cls >= 0) {
          Value copy = v;
          schema.coerce_record(copy, t.cls);
          return encode(w, copy);
        }
        return encode(w, v);
      default:
        return encode(w, v);
    }
  }

  RowPtr build(int cls, const std::string& ref, const Value& record) {
    const ClassSchema& cs = schema.cls(cls);
    auto row = std::make_shared<Row>();
    row->ref = ref;
    BlobWriter w(scratch);
    w.begin_row(static_cast<uint32_t>(cs.fields.size()));
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
        w.mark_field(id);
        typed(w, m.second, cs.field_types[static_cast<size_t>(id)]);
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

std::vector<RowPtr> Mirror::rows_of_all_records(int cls, const Value& all, Sharing sharing) const {
  std::vector<RowPtr> rows;
  if (!all.is_struct()) return rows;
  const auto& members = all.members();
  size_t n = members.size();
  rows.resize(n);
  // Chunks of records, shared with a helper while a core is spare; each chunk has its own
  // builder (scratch buffer and field-order hint).
  constexpr size_t kChunk = 256;
  share_chunks((n + kChunk - 1) / kChunk, n >= 2000 && take_helper(sharing), [&](size_t c) {
    Builder b(*schema_);
    for (size_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); i++)
      rows[i] = b.build(cls, members[i].first, members[i].second);
  });
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
    BlobValue v;
    bool present = p != nullptr;
    if (present) {
      v = BlobCursor(p).value();
      if (c.has_key) present = blob_member(v, c.key, &v);
    }
    switch (c.op) {
      case Cond::Op::Exists:
        if (!present) return false;
        break;
      case Cond::Op::Missing:
        if (present) return false;
        break;
      case Cond::Op::Eq:
      case Cond::Op::In: {
        if (!present) return false;
        bool any = false;
        for (auto& want : c.values)
          if (value_matches(v, want)) {
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
