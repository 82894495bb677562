// Conversion between xapi::Value and JS values, on the main thread only (it creates JS values).
// Decoded ints become numbers, or BigInt beyond 2^53; valid datetimes become Date. It holds no
// state between calls and knows nothing about XAPI classes: typing by datamodel lives in src/xapi.
#pragma once

#include <napi.h>

#include "xapi/value.h"

namespace xapi::js {

// Keys (registered symbols, `Symbol.for(...)`) of the wrappers that force a wire type for one
// value: { [Symbol.for('xapi.double')]: 1 } goes out as a double although 1 is integral;
// { [Symbol.for('xapi.int')]: x } as an int64, from a number, a bigint or a decimal string.
inline constexpr const char* kDoubleTag = "xapi.double";
inline constexpr const char* kIntTag = "xapi.int";

// Beyond this many nested arrays/objects from_js throws (cyclic input ends here too).
inline constexpr int kMaxJsDepth = 128;

// xapi::Value -> JS: Nil -> null, String -> string, Int -> number (BigInt outside +-(2^53-1)),
// Double -> number, Bool -> boolean, DateTime -> Date (its text when it did not parse),
// Array -> array, Struct -> plain object (own data properties; '__proto__' is an ordinary key).
Napi::Value to_js(Napi::Env env, const Value& v);

// JS -> xapi::Value: null/undefined -> Nil (object members that are undefined are skipped),
// boolean, integral number within +-(2^53-1) -> Int, other numbers -> Double, bigint -> Int,
// string, Date -> DateTime, array, plain object -> Struct, and the wrappers above.
// Throws Napi::Error (TypeError/RangeError) for anything XAPI cannot carry.
Value from_js(Napi::Value v);

}  // namespace xapi::js
