#!/usr/bin/env bash
# files_e2e.sh — end-to-end test of the `files` output against golden captures.
#
#   files_e2e.sh STETHOSCOPE_BIN GEN_CAPTURES_BIN WORKDIR
#
# Runs GEN_CAPTURES_BIN WORKDIR/captures, then reads every capture with stethoscope in
# filter mode with only the files output enabled, and compares the result with
# NAME.expected/: the same set of session folders, byte-identical requests.bin and
# responses.bin (a missing file counts as empty only when the expected one is empty),
# and as many lines in sessions.ndjson as sessions.count says.
#
# Exit codes expected from stethoscope: 0 in general; 4 for truncated_file (the file ends
# inside a record: an input error after which the outputs must still be complete);
# non-zero with exactly one line on stderr for corrupt_magic (no expected dir).
# Prints one PASS/FAIL line per capture and exits non-zero if any failed.
set -u

if [[ $# -ne 3 ]]; then
    echo "usage: $0 STETHOSCOPE_BIN GEN_CAPTURES_BIN WORKDIR" >&2
    exit 2
fi

readonly stethoscope=$1
readonly gen_captures=$2
readonly workdir=$3
readonly captures="$workdir/captures"
readonly run_timeout=${STH_E2E_TIMEOUT:-120}

failures=0
reasons=()
rc=0

# `timeout` is GNU coreutils; without it (stock macOS) runs are not time-limited.
timeout_cmd=()
if command -v timeout >/dev/null 2>&1; then
    timeout_cmd=(timeout "$run_timeout")
fi

fail() { reasons+=("$*"); }

# Writes the config for one run whose files output goes to $2.
write_config() {
    local config=$1 out=$2
    cat >"$config" <<EOF
{"capture": {"mode": "filter"}, "io": {"output": {"files": {"enabled": true, "dir": "$out"}}},
 "control": {"enabled": false}}
EOF
}

# Runs stethoscope on capture $1 with output dir $2; sets rc, and leaves stderr in $2.stderr.
run_stethoscope() {
    local capture=$1 out=$2
    local config="$out.json"
    rm -rf "$out" "$out.stdout" "$out.stderr"
    mkdir -p "$out"
    write_config "$config" "$out"
    ${timeout_cmd[@]+"${timeout_cmd[@]}"} "$stethoscope" --log-level warning -c "$config" -r "$capture" \
        >"$out.stdout" 2>"$out.stderr"
    rc=$?
    if [[ $rc -eq 124 && ${#timeout_cmd[@]} -gt 0 ]]; then
        fail "timed out after ${run_timeout}s"
    fi
}

# Session folder names directly under $1, sorted, one per line.
session_dirs() {
    local d
    for d in "$1"/*/; do
        [[ -d $d ]] && basename "$d"
    done | LC_ALL=C sort
}

file_size() { wc -c <"$1" | tr -d ' '; }

line_count() {
    if [[ -f $1 ]]; then
        grep -c '' "$1"
    else
        echo 0
    fi
}

# Compares one stream file; a missing actual file matches an empty expected one.
compare_stream() {
    local expected=$1 actual=$2 label=$3
    if [[ ! -f $actual ]]; then
        [[ -s $expected ]] && fail "$label: missing"
        return
    fi
    if ! cmp -s "$expected" "$actual"; then
        fail "$label: differs ($(cmp "$expected" "$actual" 2>&1 | head -n 1);" \
            "expected $(file_size "$expected") bytes, got $(file_size "$actual"))"
    fi
}

compare_outputs() {
    local expected=$1 out=$2
    local want got
    want=$(session_dirs "$expected")
    got=$(session_dirs "$out")
    if [[ $want != "$got" ]]; then
        fail "session folders differ: expected [${want//$'\n'/ }] got [${got//$'\n'/ }]"
    fi
    local dir
    while IFS= read -r dir; do
        [[ -z $dir ]] && continue
        compare_stream "$expected/$dir/requests.bin" "$out/$dir/requests.bin" "$dir/requests.bin"
        compare_stream "$expected/$dir/responses.bin" "$out/$dir/responses.bin" "$dir/responses.bin"
    done <<<"$want"
    local sessions lines
    sessions=$(tr -d '[:space:]' <"$expected/sessions.count")
    lines=$(line_count "$out/sessions.ndjson")
    if [[ $lines != "$sessions" ]]; then
        fail "sessions.ndjson has $lines lines, expected $sessions"
    fi
}

report() {
    local name=$1
    if [[ ${#reasons[@]} -eq 0 ]]; then
        echo "PASS $name"
        return
    fi
    failures=$((failures + 1))
    echo "FAIL $name"
    local r
    for r in "${reasons[@]}"; do
        echo "     - $r"
    done
}

check_capture() {
    local capture=$1 name=$2 want_rc=$3
    local out="$workdir/out/$name"
    reasons=()
    run_stethoscope "$capture" "$out"
    if [[ $rc -ne $want_rc ]]; then
        fail "exit code $rc, expected $want_rc"
        [[ -s $out.stderr ]] && fail "stderr: $(head -c 2000 "$out.stderr")"
    fi
    compare_outputs "$captures/$name.expected" "$out"
    report "$name"
}

check_error_capture() {
    local capture=$1 name=$2
    local out="$workdir/out/$name"
    reasons=()
    run_stethoscope "$capture" "$out"
    [[ $rc -eq 0 ]] && fail "exit code 0, expected non-zero"
    local lines
    lines=$(line_count "$out.stderr")
    if [[ $lines -ne 1 ]]; then
        fail "stderr has $lines lines, expected 1: $(head -c 2000 "$out.stderr")"
    fi
    report "$name"
}

expected_rc() {
    case $1 in
        truncated_file) echo 4 ;;
        *) echo 0 ;;
    esac
}

main() {
    rm -rf "$captures" "$workdir/out"
    mkdir -p "$captures" "$workdir/out"
    if ! "$gen_captures" "$captures" >/dev/null; then
        echo "FAIL gen_captures: could not generate the captures"
        exit 1
    fi
    local capture name count=0
    for capture in "$captures"/*.pcap "$captures"/*.pcapng; do
        [[ -f $capture ]] || continue
        name=$(basename "$capture")
        name=${name%.*}
        count=$((count + 1))
        if [[ $name == corrupt_magic ]]; then
            check_error_capture "$capture" "$name"
        elif [[ -d $captures/$name.expected ]]; then
            check_capture "$capture" "$name" "$(expected_rc "$name")"
        else
            reasons=("no $name.expected directory and not a known error case")
            report "$name"
        fi
    done
    if [[ $count -eq 0 ]]; then
        echo "FAIL gen_captures: no captures generated"
        exit 1
    fi
    echo "files_e2e: $((count - failures)) of $count captures passed"
    [[ $failures -eq 0 ]]
}

main
