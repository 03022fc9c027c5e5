#!/usr/bin/env bash
# run_analyzer_benchmark.sh — what the analyzers cost the engine: the control-only engine
# on the many-sessions capture with every analyzer on against every analyzer off.
#
#   run_analyzer_benchmark.sh BUILD_DIR [CAPTURE_DIR]
#
# BUILD_DIR    a build tree with stethoscope and its plugins (nothing is built here), e.g.
#                cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
#                cmake --build build-bench --target stethoscope plugin_pcap-file \
#                      plugin_mtu plugin_mss plugin_rtt-bdp plugin_rates plugin_stall
# CAPTURE_DIR  default: BUILD_DIR/bench-captures. The capture is short.pcap, ~100k short
#              HTTP sessions (the "many sessions" capture); when missing it is made with
#              make_bench_captures.sh --only short (root: network namespaces, nginx, wrk;
#              SHORT_SESSIONS sets its size). BENCH_CAPTURE=FILE runs on another capture.
#
# Contenders (both: filter mode, 1 worker, no output plugin, no events on stdout, the
# control plane, when installed, on as by default but on an ephemeral loopback port):
#   on   the built-in defaults: every analyzer installed in BUILD_DIR/plugins is on
#   off  "analyzers": {"mtu": {"enabled": false}, "mss": ..., "rtt-bdp": ...,
#        "rates": ..., "stall": ...}
# RUNS (default 5, 3..5 is sensible) timed runs each, rounds interleaved (on, off, on,
# off, ...) so that load from elsewhere hits both alike; the file is read once before, so
# it is in the page cache. Wall time is the median of the runs, "cpu s" the median of
# user+sys, peak RSS the largest of the runs (/usr/bin/time %M).
# Prints a table (a row per contender: median wall and CPU time, each also as a ratio to
# "off", peak RSS) with the ratio on/off of the median wall times against the target
# (analyzers on <= 1.15x analyzers off), plus the load average (a busy machine shows in
# wall times first), and saves it to ANALYZER_BENCH_RESULTS (default
# CAPTURE_DIR/analyzer_results.txt). Every run must report the same packets and sessions
# ("done:" line).
# Exit status: 0 target met, 3 target missed, 1 a run failed.
#
# ANALYZER_BENCH_EACH=1 adds one contender per installed analyzer, alone (the others
# "enabled": false), to see who costs what; the table then has a row for each.
# Environment: RUNS, BENCH_CAPTURE, BENCH_TIMEOUT (s per run, default 900),
# ANALYZER_BENCH_TARGET (default 1.15), ANALYZER_BENCH_RESULTS, ANALYZER_BENCH_EACH.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "run_analyzer_benchmark: $*" >&2; exit 1; }
[[ $# -ge 1 && $# -le 2 ]] || { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2; }
build=$(cd "$1" && pwd) || die "no build dir $1"
stethoscope=$build/stethoscope
capture_dir=${2:-$build/bench-captures}
runs=${RUNS:-5}
run_timeout=${BENCH_TIMEOUT:-900}
target=${ANALYZER_BENCH_TARGET:-1.15}
analyzers=(mtu mss rtt-bdp rates stall)

[[ -x $stethoscope ]] || die "no stethoscope binary at $stethoscope"
if [[ ! -x /usr/bin/time ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null || die "no /usr/bin/time"
fi
mkdir -p "$capture_dir"
capture_dir=$(cd "$capture_dir" && pwd)
capture=${BENCH_CAPTURE:-$capture_dir/short.pcap}
results=${ANALYZER_BENCH_RESULTS:-$capture_dir/analyzer_results.txt}
if [[ ! -s $capture ]]; then
    [[ -z ${BENCH_CAPTURE:-} ]] || die "no capture at $capture"
    echo "run_analyzer_benchmark: making short.pcap in $capture_dir" >&2
    "$here/make_bench_captures.sh" --only short "$capture_dir" || die "could not make short.pcap"
fi

scratch=$(mktemp -d /dev/shm/sth-analyzer-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
off_sections=""
for a in "${analyzers[@]}"; do off_sections+="${off_sections:+, }\"$a\": {\"enabled\": false}"; done
common='"capture": {"mode": "filter", "workers": 1}, "log": {"events_stdout": false},
 "control": {"listen": "127.0.0.1:0"}'
cat >"$scratch/on.json" <<EOF
{$common}
EOF
cat >"$scratch/off.json" <<EOF
{$common,
 "analyzers": {$off_sections}}
EOF

# Which analyzers the config loads (--check-config lists them; switched off ones too).
loaded=$("$stethoscope" -c "$scratch/on.json" -r "$capture" --check-config 2>/dev/null |
    awk '$1 == "loaded" && $2 == "analyzer" { printf "%s%s", sep, $3; sep = " " }') ||
    die "--check-config failed"
[[ -n $loaded ]] || die "no analyzer plugin in $build/plugins: build them first"
contenders=(on off)
if [[ -n ${ANALYZER_BENCH_EACH:-} ]]; then  # each analyzer alone: who costs what
    for a in $loaded; do
        sections=""
        for b in "${analyzers[@]}"; do
            [[ $b == "$a" ]] && continue
            sections+="${sections:+, }\"$b\": {\"enabled\": false}"
        done
        printf '{%s,\n "analyzers": {%s}}\n' "$common" "$sections" >"$scratch/only-$a.json"
        contenders+=("only-$a")
    done
fi

# run_once NAME: one timed run; prints "WALL_S RSS_KIB CPU_S".
run_once() {
    local name=$1 t0 t1 rc=0
    t0=$(date +%s%N)
    timeout "$run_timeout" /usr/bin/time -f '%e %M %U %S' -o "$scratch/time.out" \
        "$stethoscope" -c "$scratch/$name.json" -r "$capture" \
        >"$scratch/$name.stdout" 2>"$scratch/$name.stderr" || rc=$?
    t1=$(date +%s%N)
    if ((rc)); then
        echo "run_analyzer_benchmark: $name failed (exit $rc): $(tail -3 "$scratch/$name.stderr")" >&2
        return 1
    fi
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }') $(awk 'END { printf "%s %.2f", $2, $3 + $4 }' "$scratch/time.out")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cat "$capture" >/dev/null  # into the page cache
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A walls=() cpus=() rss=() done_line=()
for ((r = 1; r <= runs; r++)); do
    for name in "${contenders[@]}"; do
        m=$(run_once "$name") || exit 1
        read -r w k c <<<"$m"
        echo "run_analyzer_benchmark: round $r: $name ${w}s ${k}KiB cpu ${c}s" >&2
        walls[$name]+="$w "
        cpus[$name]+="$c "
        if [[ -z ${rss[$name]:-} ]] || ((k > rss[$name])); then rss[$name]=$k; fi
        done_line[$name]=$(grep -o 'done: [0-9]* packets, [0-9]* sessions' "$scratch/$name.stderr" | tail -1 || true)
        [[ ${done_line[$name]} == "${done_line[on]}" ]] ||
            die "the runs disagree: on '${done_line[on]}', $name '${done_line[$name]}'"
    done
done

declare -A med=() cpu=()
for name in "${contenders[@]}"; do
    med[$name]=$(tr ' ' '\n' <<<"${walls[$name]}" | grep . | median)
    cpu[$name]=$(tr ' ' '\n' <<<"${cpus[$name]}" | grep . | median)
done
over_off() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
ratio=$(over_off "${med[on]}" "${med[off]}")
result=PASS
awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r > t) }' && result=MISS
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

{
    echo "stethoscope analyzer cost — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, median of $runs runs"
    echo "binary: $stethoscope"
    echo "capture: $capture ($(stat -c %s "$capture") bytes; ${done_line[on]#done: })"
    echo "analyzers: $loaded (on: all of them; off: each \"enabled\": false)"
    echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    fmt='%-18s %10s %8s %8s %8s %8s\n'
    printf "$fmt" analyzers "wall s" "x off" "cpu s" "x off" "RSS MiB"
    for name in "${contenders[@]}"; do
        printf "$fmt" "$name" "${med[$name]}" "$(over_off "${med[$name]}" "${med[off]}")" \
            "${cpu[$name]}" "$(over_off "${cpu[$name]}" "${cpu[off]}")" "$(mib "${rss[$name]}")"
    done
    echo
    for name in "${contenders[@]}"; do printf '%-18s wall s: %s\n' "$name" "${walls[$name]}"; done
    echo
    echo "ratio on/off (median wall): ${ratio}x   target: <= ${target}x   $result"
} | tee "$results"
[[ $result == PASS ]] && exit 0 || exit 3
