// UTF-8 checks shared by both codecs: validation, repair with U+FFFD, and code point output.
// Plain C++17 over bytes; it owns no policy about when a string must be valid (the codecs decide),
// and it never allocates except into the caller's string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace xapi {

// Length of the valid UTF-8 prefix of `s` (== s.size() when all of it is valid). Rejects overlong
// forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF, as RFC 3629 requires.
size_t utf8_valid_prefix(std::string_view s);

inline bool utf8_valid(std::string_view s) { return utf8_valid_prefix(s) == s.size(); }

// Appends `s` to `out`, each maximal invalid subsequence replaced by U+FFFD.
void utf8_append_repaired(std::string& out, std::string_view s);

// Appends the UTF-8 form of code point `cp`; the caller guarantees cp <= 0x10FFFF and that it is
// not a surrogate.
void utf8_append_codepoint(std::string& out, uint32_t cp);

}  // namespace xapi
