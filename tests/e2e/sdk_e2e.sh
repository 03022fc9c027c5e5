#!/usr/bin/env bash
# The SDK promise, end to end: install the SDK to a temporary prefix, build the
# out-of-tree example plugin (sdk/examples/byte-counter) against it alone, and run it in
# the real binary on the sample capture.
# Usage: sdk_e2e.sh BUILD_DIR SOURCE_DIR WORKDIR
set -u
build=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL $*"; echo "sdk_e2e: 0 passed, 1 failed"; exit 1; }

cmake --install "$build" --prefix "$work/prefix" --component Unspecified >"$work/install.log" 2>&1 ||
    fail "install: $(tail -5 "$work/install.log")"
[ -f "$work/prefix/include/stethoscope/abi.h" ] || fail "headers not installed"
cflags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig" \
         pkg-config --define-prefix --cflags stethoscope-sdk | xargs) || fail "pkg-config"
[ "$cflags" == "-I$work/prefix/include" ] || fail "pkg-config cflags: $cflags"

cmake -S "$src/sdk/examples/byte-counter" -B "$work/example" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_BUILD_TYPE=Release >"$work/example.log" 2>&1 || fail "configure example: $(tail -5 "$work/example.log")"
cmake --build "$work/example" >>"$work/example.log" 2>&1 || fail "build example: $(tail -20 "$work/example.log")"
[ -f "$work/example/stethoscope-byte-counter.so" ] || fail "no plugin file"

printf '{ "plugins": { "dirs": ["%s"] }, "io": { "output": { "byte-counter": { "enabled": true, "label": "ex" } } } }\n' \
    "$work/example" >"$work/config.json"
"$build/stethoscope" --log-level warning -c "$work/config.json" -r "$src/config/sample-http.pcap" \
    >"$work/out" 2>"$work/err" || fail "run: $(cat "$work/err")"
got=$(grep '"event":"byte_count"' "$work/out" |
      sed -E 's/.*"session":([0-9]+).*"label":"ex","requests":([0-9]+),"responses":([0-9]+).*/\1 \2 \3/' | sort)
want=$'55734 165 24621\n55736 173 164\n55740 89 3885'
[ "$got" == "$want" ] || fail "events: $got"
grep -q '"byte-counter.bytes":29097' "$work/out" || fail "counter byte-counter.bytes"
echo "PASS out-of-tree plugin built against the installed SDK and ran"
echo "sdk_e2e: 1 passed, 0 failed"
