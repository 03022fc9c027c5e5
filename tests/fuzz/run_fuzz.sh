#!/usr/bin/env bash
# run_fuzz.sh — a bounded fuzzing run of every fuzz target, for CI (ctest -L fuzz) and
# for developers.
#
#   run_fuzz.sh BUILD_DIR SECONDS
#
# BUILD_DIR is a build tree configured with -DSTETHOSCOPE_FUZZ=ON (clang, sanitizers) in
# which fuzz_decoder, fuzz_reassembler, fuzz_engine, fuzz_control_http and gen_captures are
# built. The seeds
# are rebuilt from the test captures (make_corpus.sh) into BUILD_DIR/tests/fuzz/seeds/; each
# target then runs for SECONDS on BUILD_DIR/tests/fuzz/corpus/TARGET (kept between runs, so
# coverage grows) plus its seeds. A crash, sanitizer report, leak, timeout (10 s per
# input) or out-of-memory (2 GiB) leaves BUILD_DIR/tests/fuzz/artifacts/TARGET-* (the input to
# replay: `BUILD_DIR/tests/fuzz/TARGET FILE`) and the log BUILD_DIR/tests/fuzz/logs/TARGET.log.
#
# Prints one summary line per target and exits non-zero if any target failed.
# STH_FUZZ_TARGETS="fuzz_decoder ..." runs a subset.
set -uo pipefail

if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
readonly build_dir=$(cd "$1" && pwd)
readonly seconds=$2
readonly here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly work="$build_dir/tests/fuzz"
read -r -a targets <<<"${STH_FUZZ_TARGETS:-fuzz_decoder fuzz_reassembler fuzz_engine fuzz_control_http}"

for t in "${targets[@]}"; do
    if [[ ! -x $build_dir/tests/fuzz/$t ]]; then
        echo "run_fuzz.sh: $build_dir/tests/fuzz/$t not built" \
             "(configure with -DSTETHOSCOPE_FUZZ=ON, build target fuzz_targets)" >&2
        exit 2
    fi
done

"$here/make_corpus.sh" "$build_dir/tests/gen_captures" "$work/seeds" || exit 2

# control_seeds DIR: the control plane's seeds, requests and raw-session lines as sent.
control_seeds() {
    local dir=$1 i=0
    rm -rf "$dir" && mkdir -p "$dir"
    local seeds=(
        $'GET /stats HTTP/1.1\r\nHost: x\r\n\r\n'
        $'GET /events?types=session_opened,gap HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n'
        $'GET /sessions/1 HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n'
        $'POST /modules/mss/disable HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'
        $'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n'
        $'{"cmd":"stats"}\n{"cmd":"session","uid":1}\n{"cmd":"subscribe","types":["gap"]}\n'
        $'{"cmd":"enable","module":"mss"}\n{"cmd":"auth","token":"t"}\n{"cmd":"x"}\n'
        '{"packets":1,"dropped_kernel":2,"decode":{"a":1},"fragments":{"received":1},"counters":{"b":1}}'
    )
    for s in "${seeds[@]}"; do
        printf '%s' "$s" >"$dir/seed-$i"
        i=$((i + 1))
    done
}
control_seeds "$work/seeds/fuzz_control_http"
mkdir -p "$work/artifacts" "$work/logs"

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# run_target NAME: fuzzes NAME for $seconds; prints its summary line; fails on a finding.
run_target() {
    local name=$1
    local corpus="$work/corpus/$name" log="$work/logs/$name.log"
    mkdir -p "$corpus"
    local start=$SECONDS rc=0
    "$build_dir/tests/fuzz/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" \
        "$corpus" "$work/seeds/$name" >"$log" 2>&1 || rc=$?
    local runs cov ft corp
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    # The last status line: "#1234 DONE cov: 512 ft: 3000 corp: 600/40Kb ..." or a pulse.
    read -r cov ft corp < <(grep -E '^#[0-9]+' "$log" | tail -n 1 |
        sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/')
    if ((rc == 0)); then
        printf '%-17s PASS  %s runs in %d s, cov %s, features %s, corpus %s\n' "$name" \
            "${runs:-?}" "$((SECONDS - start))" "${cov:-?}" "${ft:-?}" "${corp:-?}"
        return 0
    fi
    printf '%-17s FAIL  exit %d after %d s, %s runs, cov %s; log %s\n' "$name" "$rc" \
        "$((SECONDS - start))" "${runs:-?}" "${cov:-?}" "$log"
    grep -E 'ERROR: |SUMMARY: |invariant violated|runtime error|Test unit written' "$log" |
        head -n 8 | sed 's/^/    /'
    return 1
}

failed=0
for t in "${targets[@]}"; do
    run_target "$t" || failed=1
done
exit "$failed"
