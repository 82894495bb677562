#!/usr/bin/env bash
# `npm run test:asan`: builds xapi.node and xapi_testing.node with AddressSanitizer and UBSan into
# addon/build-asan/ (a copy of the addon project, so addon/build stays the normal Release build),
# then runs the addon's jest tests (test/xapi, or the paths given) with them loaded through
# XCD_ADDON_PATH (the test module is found beside it).
# Node itself is not instrumented: libasan is preloaded and leak detection is off.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/addon/build-asan"
proj="$work/project"

mkdir -p "$proj"
rm -rf "$proj/src"
for entry in "$root"/addon/*; do
  name="$(basename "$entry")"
  case "$name" in build|build-*|fuzz|scripts) continue ;; esac
  cp -r "$entry" "$proj/"
done
# Use the headers installed beside node (Debian: /usr/include/node) unless npm already says where.
nodedir_arg=()
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node_api.h" ]; then
  nodedir_arg=(--nodedir="$prefix")
fi
(cd "$proj" && "$root/node_modules/.bin/node-gyp" rebuild -j 2 "${nodedir_arg[@]}" -- -Dsanitize=1 >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  exit 1
}

libasan="$(gcc -print-file-name=libasan.so)"
libubsan="$(gcc -print-file-name=libubsan.so)"
export XCD_ADDON_PATH="$proj/build/Release/xapi.node"
export LD_PRELOAD="$libasan:$libubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1:detect_odr_violation=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if [ "$#" -eq 0 ]; then set -- test/xapi; fi
cd "$root"
exec "$root/node_modules/.bin/jest" --runInBand "$@"
