// Decoding of large get_all_records answers on two threads: the body is cut at a boundary
// between two top-level records, each half is decoded as its own document, and the halves'
// members are joined. Any doubt (no recognisable envelope, a half that does not decode) falls
// back to the ordinary single-threaded decode, so the result is always the codec's own.
#pragma once

#include <string_view>

#include "xapi/rpc.h"
#include "xapi/value.h"

namespace xapi {

Response decode_bulk(std::string_view body, Protocol protocol);

}  // namespace xapi
