#!/usr/bin/env bash
# `npm run fuzz [name...]`: builds each libFuzzer target addon/fuzz/<name>_fuzz.cc with clang into
# .fuzz/ and runs it FUZZ_SECONDS (60) [FUZZ_JOBS workers] on a copy of addon/fuzz/corpus/<name>/;
# exits non-zero on a finding (input kept in .fuzz/). Installs clang when absent and root. It
# writes only under .fuzz/: never into addon/build or the committed corpus.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
secs="${FUZZ_SECONDS:-60}"
out="$root/.fuzz"

find_clang() {
  for c in clang++ clang++-14 clang++-15 clang++-16; do
    if command -v "$c" >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}

cxx="$(find_clang || true)"
if [ -z "$cxx" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fuzz: installing clang-14 and libclang-rt-14-dev (libFuzzer)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null
    cxx="$(find_clang)"
  else
    echo "fuzz: clang is required (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 1
  fi
fi

# Sources every target links; a target may list more (relative to addon/src) in <name>.sources.
codec_sources=(xapi/utf8.cc xapi/datetime.cc xapi/xmlrpc_decode.cc xapi/xmlrpc_encode.cc xapi/jsonrpc.cc)

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$root"/addon/fuzz/*_fuzz.cc; do
    n="$(basename "$f" _fuzz.cc)"
    targets+=("$n")
  done
fi

mkdir -p "$out"
status=0
for t in "${targets[@]}"; do
  srcs=()
  for s in "${codec_sources[@]}"; do srcs+=("$root/addon/src/$s"); done
  if [ -f "$root/addon/fuzz/$t.sources" ]; then
    while read -r s; do [ -n "$s" ] && srcs+=("$root/addon/src/$s"); done < "$root/addon/fuzz/$t.sources"
  fi
  echo "fuzz: building $t with $cxx" >&2
  "$cxx" -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$root/addon/src" -I"$root/addon/fuzz" \
    "$root/addon/fuzz/${t}_fuzz.cc" "${srcs[@]}" -o "$out/$t"
  mkdir -p "$out/corpus/$t"
  cp -n "$root/addon/fuzz/corpus/$t/"* "$out/corpus/$t/" 2>/dev/null || true
  echo "fuzz: running $t for ${secs}s" >&2
  log="$out/$t.log"
  dict=()
  [ -f "$root/addon/fuzz/$t.dict" ] && dict=(-dict="$root/addon/fuzz/$t.dict")
  if ! "$out/$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$out/$t-" "${dict[@]}" ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} \
      "$out/corpus/$t" > "$log" 2>&1; then
    echo "fuzz: $t FOUND A PROBLEM, see $log and $out/$t-*" >&2
    tail -40 "$log" >&2
    status=1
    continue
  fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')"
  echo "fuzz: $t ok, $execs executions in ${secs}s" >&2
done
exit "$status"
