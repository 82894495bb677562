// Decoding of large get_all_records answers: while a core is spare, the body is cut at
// boundaries between top-level records, the caller and one helper thread decode the pieces in
// place, and their members are joined in order. Otherwise, and on any doubt (no recognisable
// envelope, a piece that does not decode), it is the ordinary single-threaded decode, so the
// result is always the codec's own.
#pragma once

#include <string_view>

#include "xapi/rpc.h"
#include "xapi/value.h"
#include "xapi/work_share.h"

namespace xapi {

// `pieces`, when given, receives how many pieces were decoded apart (0: the body was decoded whole).
Response decode_bulk(std::string_view body, Protocol protocol, Sharing sharing = Sharing::Auto,
                     size_t* pieces = nullptr);

}  // namespace xapi
