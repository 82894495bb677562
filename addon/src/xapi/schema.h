// Datamodel type descriptors handed over from src/xapi (DATAMODEL tables) once per client, and
// type-directed coercion of decoded values: XML-RPC sends int64 as strings and JSON-RPC sends
// datetimes as strings, so both are made to agree here. No I/O, no N-API.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "xapi/value.h"

namespace xapi {

struct Type {
  enum class Kind { Any, String, Int, Float, Bool, DateTime, Set, Map, Record };
  Kind kind = Kind::Any;
  int elem = -1;      // Set: element type; Map: value type (index into Schema types)
  int cls = -1;       // Record: class index
};

struct ClassSchema {
  std::string name;
  std::vector<std::string> fields;
  std::vector<int> field_types;                 // index into Schema::types, parallel to fields
  std::unordered_map<std::string, int> field_ids;
};

class Schema {
 public:
  // Adds a class with its fields as (name, datamodel type string) pairs.
  void add_class(const std::string& name, const std::vector<std::pair<std::string, std::string>>& fields);
  // Parses a datamodel type string ('int', 'VM ref set', '(string -> int) map', 'VM record', ...).
  int parse_type(const std::string& text);
  const Type& type(int id) const { return types_[static_cast<size_t>(id)]; }
  int class_index(const std::string& name) const;  // -1 when unknown
  const ClassSchema& cls(int idx) const { return classes_[static_cast<size_t>(idx)]; }
  size_t class_count() const { return classes_.size(); }
  // Case-insensitive class lookup, for event.from's lowercase class names.
  int class_index_ci(const std::string& name) const;

  // Rewrites `v` in place to match type `type_id`.
  void coerce(Value& v, int type_id) const;
  void coerce_record(Value& v, int cls_idx) const;

 private:
  int add_type(Type t);
  std::vector<Type> types_;
  std::vector<ClassSchema> classes_;
  std::unordered_map<std::string, int> class_ids_;
  std::unordered_map<std::string, int> class_ids_lower_;
  std::unordered_map<std::string, int> type_cache_;
  std::vector<std::pair<int, std::string>> pending_records_;  // record types naming classes added later
};

}  // namespace xapi
