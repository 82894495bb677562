// The native mirror: a replica of the records of the mirrored XAPI classes, indexed by ref and
// uuid, each record stored as one compact byte string (fields by datamodel field id, values in
// a tagged binary form). The event stream thread writes; any thread reads through narrow queries.
// Holds no JS values and does no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "xapi/row_blob.h"
#include "xapi/schema.h"
#include "xapi/value.h"
#include "xapi/work_share.h"

namespace xapi {

// One stored record. `data` is the encoded row (layout in row_blob.h).
struct Row {
  std::string ref;
  std::string uuid;
  std::string data;
  const uint8_t* field(int id) const { return blob_row_field(data, id); }  // or nullptr
};
using RowPtr = std::shared_ptr<const Row>;

struct Change {
  int cls;
  char op;  // 'a'dd, 'm'od, 'd'el
  std::string ref;
  std::string uuid;
};

// One condition of a query's filter: field (or map_field.key) compared with scalars.
struct Cond {
  enum class Op { Eq, In, Exists, Missing };
  int field = -1;
  bool has_key = false;
  std::string key;
  Op op = Op::Eq;
  std::vector<Value> values;  // scalars: String, Int, Double, Bool
};

// Appends a row as one JSON object ({"$ref": ..., field: value, ...}; with `fields`, only those)
// for JS to JSON.parse, which builds objects faster than N-API can. Valid datetimes go out as
// epoch milliseconds (the reader revives its datetime fields). Returns false, with `out` in an
// unspecified state, when a value has no faithful JSON form (non-finite float, int beyond 2^53,
// datetime below the top level); the caller then converts that row another way.
bool row_json(std::string& out, const ClassSchema& cls, const Row& row, const std::vector<int>* fields);

class Mirror {
 public:
  Mirror(std::shared_ptr<const Schema> schema, std::vector<int> classes);

  const Schema& schema() const { return *schema_; }
  const std::vector<int>& classes() const { return classes_; }
  bool mirrored(int cls) const;

  // Writer side (one thread). make_row encodes `record`, typing its values by the datamodel
  // (int64 sent as strings become ints, datetime strings become datetimes).
  RowPtr make_row(int cls, const std::string& ref, const Value& record) const;
  // Rows of a get_all_records result (a ref -> record struct), encoded on the calling thread and,
  // for large results while a core is spare, one helper (work_share.h).
  std::vector<RowPtr> rows_of_all_records(int cls, const Value& all, Sharing sharing = Sharing::Auto) const;
  // Replaces a whole class (initial load, resync); appends the differences to `changes`.
  void replace_class(int cls, std::vector<RowPtr> rows, std::vector<Change>* changes);
  struct Update {
    int cls;
    char op;
    std::string ref;
    RowPtr row;  // null for 'd'
  };
  void apply(std::vector<Update>& updates, std::vector<Change>* changes);
  void clear();

  // Reader side (any thread).
  RowPtr get(int cls, const std::string& ref) const;
  RowPtr get_by_uuid(int cls, const std::string& uuid) const;
  std::vector<RowPtr> query(int cls, const std::vector<Cond>& where, size_t offset, size_t limit) const;
  size_t count(int cls, const std::vector<Cond>& where) const;
  size_t size(int cls) const;

 private:
  struct Table {
    std::map<std::string, RowPtr> by_ref;
    std::unordered_map<std::string, std::string> ref_of_uuid;
  };
  bool matches(const Row& row, const std::vector<Cond>& where) const;
  struct Builder;

  std::shared_ptr<const Schema> schema_;
  std::vector<int> classes_;
  std::vector<std::unique_ptr<Table>> tables_;  // by class index; null when not mirrored
  mutable std::shared_mutex mu_;
};

}  // namespace xapi
