#!/usr/bin/env bash
# `npm install` / `npm run build:addon`: node-gyp rebuild of addon/ into addon/build/Release (every
# target of binding.gyp: xapi.node, the product module, and xapi_testing.node, the test- and
# benchmark-only one), with the headers installed beside node (e.g. /usr/include/node) when npm
# names no nodedir, so no download is needed; extra arguments go to node-gyp. It builds only
# addon/build: the sanitizer and fuzz builds belong to scripts/test_asan.sh and fuzz/run.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

args=()
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node_api.h" ]; then
  args+=(--nodedir="$prefix")
fi

if [ -x "$root/node_modules/.bin/node-gyp" ]; then
  gyp=("$root/node_modules/.bin/node-gyp")
elif [ -n "${npm_config_node_gyp:-}" ]; then
  gyp=(node "$npm_config_node_gyp")   # the node-gyp bundled with npm (dev dependencies omitted)
else
  gyp=(npx --yes node-gyp)
fi
exec "${gyp[@]}" rebuild -C "$root/addon" -j max "${args[@]}" "$@"
