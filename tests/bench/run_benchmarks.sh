#!/usr/bin/env bash
# run_benchmarks.sh — offline throughput and memory of stethoscope against its floors.
#
#   run_benchmarks.sh [CAPTURE_DIR] [STETHOSCOPE_BIN]
#
# CAPTURE_DIR   default: <repo>/build-bench/bench-captures; missing captures are made
#               first with make_bench_captures.sh (root: it needs network namespaces).
# STETHOSCOPE_BIN  default: <repo>/build-bench/stethoscope (plugins next to it).
#
# Build first:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSTETHOSCOPE_BENCHMARKS=ON
#   cmake --build build-bench --target bench_programs
#
# For each capture (bulk.pcap, short.pcap, concurrent.pcap) it measures, in the same run:
#   read      bench_floor read FILE     the libpcap read floor (pcap_next_ex loop)
#   decode    bench_floor decode FILE   read + decode_packet + flow lookup
#   control   stethoscope -r FILE, control-only output: filter mode, 1 worker, no output
#             plugin, no analyzer, no control plane, no events on stdout (the engine)
#   events    the same with every event written: stdout to a file on tmpfs (the event path)
#   files     stethoscope -r FILE with the files output writing to tmpfs
#   tcpflow   tcpflow -r FILE -o DIR on tmpfs
# (on concurrent.pcap only read, decode and control: the point there is memory; set
# BENCH_CONCURRENT_ALL=1 to write 1M x 2 stream files too).
# Wall time is the best of RUNS (default 3) runs, rounds interleaved so that load from
# elsewhere on the machine hits every contender alike; the file is read once before, so
# it is in the page cache. Peak RSS is the largest of the runs (/usr/bin/time %M); "cpu s"
# is the smallest user+sys time of the runs, a check on the wall times when other load
# shares the machine (the targets are on wall time).
# Gbit/s and packets/s are over the packets' original lengths (what crossed the wire).
#
# Prints a table with the ratio of each wall time to the read floor and the issue's
# targets: control <= 1.3x (bulk) / 2.0x (short); events <= 1.2x (bulk) / 2.5x (short);
# files <= 2x / 5x; peak RSS on short
# <= 64 MiB, on concurrent <= 1 GiB. The table is also saved to BENCH_RESULTS (default
# CAPTURE_DIR/results.txt).
# Exit status: 0 every target met, 3 a target missed, 1 a contender failed to run.
#
# Environment: RUNS, BENCH_FLOOR (path of bench_floor), BENCH_TIMEOUT (s per run, 900),
# BENCH_CAPTURES (space-separated subset of "bulk short concurrent"), BENCH_RESULTS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
capture_dir=${1:-$repo/build-bench/bench-captures}
stethoscope=${2:-$repo/build-bench/stethoscope}
bench_floor=${BENCH_FLOOR:-$(dirname "$stethoscope")/tests/bench/bench_floor}
runs=${RUNS:-3}
run_timeout=${BENCH_TIMEOUT:-900}
captures=${BENCH_CAPTURES:-bulk short concurrent}

die() { echo "run_benchmarks: $*" >&2; exit 1; }
[[ -x $stethoscope ]] || die "no stethoscope binary at $stethoscope"
[[ -x $bench_floor ]] || die "no bench_floor at $bench_floor (build target bench_programs)"
if [[ ! -x /usr/bin/time ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null || die "no /usr/bin/time"
fi
command -v tcpflow >/dev/null 2>&1 || die "tcpflow is not installed"

mkdir -p "$capture_dir"
capture_dir=$(cd "$capture_dir" && pwd)
results=${BENCH_RESULTS:-$capture_dir/results.txt}

# --- captures -------------------------------------------------------------------------
missing=()
for c in $captures; do [[ -s $capture_dir/$c.pcap ]] || missing+=("$c"); done
if ((${#missing[@]})); then
    echo "run_benchmarks: making ${missing[*]} in $capture_dir" >&2
    for c in "${missing[@]}"; do
        "$here/make_bench_captures.sh" --only "$c" \
            --gen-concurrent "$(dirname "$bench_floor")/gen_concurrent" "$capture_dir" ||
            die "could not make $c.pcap"
    done
fi

# --- scratch space on tmpfs -----------------------------------------------------------
scratch=$(mktemp -d /dev/shm/sth-bench.XXXXXX)
cleanup() { rm -rf "$scratch"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
out_dir="$scratch/out"
no_analyzers='"analyzers": {"mtu": {"enabled": false}, "mss": {"enabled": false},
  "rtt-bdp": {"enabled": false}, "rates": {"enabled": false}, "stall": {"enabled": false}},
  "control": {"enabled": false}'
cat >"$scratch/control.json" <<EOF
{"capture": {"mode": "filter", "workers": 1}, $no_analyzers,
 "log": {"events_stdout": false}}
EOF
cat >"$scratch/events.json" <<EOF
{"capture": {"mode": "filter", "workers": 1}, $no_analyzers}
EOF
cat >"$scratch/files.json" <<EOF
{"capture": {"mode": "filter", "workers": 1}, $no_analyzers,
 "io": {"output": {"files": {"enabled": true, "dir": "$out_dir"}}},
 "log": {"events_stdout": false}}
EOF

# set_cmd NAME FILE: sets `cmd` to the command line of one contender.
set_cmd() {
    local file=$2
    case $1 in
        read) cmd=("$bench_floor" read "$file") ;;
        decode) cmd=("$bench_floor" decode "$file") ;;
        control) cmd=("$stethoscope" -r "$file" -c "$scratch/control.json") ;;
        events) cmd=("$stethoscope" -r "$file" -c "$scratch/events.json") ;;
        files) cmd=("$stethoscope" -r "$file" -c "$scratch/files.json") ;;
        tcpflow) cmd=(tcpflow -r "$file" -o "$out_dir") ;;
    esac
}

# run_once NAME FILE LOG: one timed run; prints "WALL_S RSS_KIB CPU_S", fails on error.
run_once() {
    local name=$1 file=$2 log=$3 t0 t1 rc=0
    rm -rf "$out_dir"
    mkdir -p "$out_dir"
    local cmd=()
    set_cmd "$name" "$file"
    t0=$(date +%s%N)
    timeout "$run_timeout" /usr/bin/time -f '%e %M %U %S' -o "$scratch/time.out" "${cmd[@]}" \
        >"$log.stdout" 2>"$log.stderr" || rc=$?
    t1=$(date +%s%N)
    rm -rf "$out_dir"
    if ((rc)); then
        echo "run_benchmarks: $name on $(basename "$file") failed (exit $rc): $(tail -3 "$log.stderr")" >&2
        return 1
    fi
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }') $(awk 'END { printf "%s %.2f", $2, $3 + $4 }' "$scratch/time.out")"
}

table=()
notes=()
# shellcheck disable=SC2059  # the format is $fmt, defined right here
row() { table+=("$(printf "$@")"); }
fmt='%-11s %-8s %9s %7s %8s %8s %8s %7s  %-25s %s'
row "$fmt" capture tool "wall s" "x read" "Gbit/s" "Mpkt/s" "RSS MiB" "cpu s" target result
status=0

for c in $captures; do
    file="$capture_dir/$c.pcap"
    [[ -s $file ]] || continue
    cat "$file" >/dev/null  # into the page cache
    read -r packets bytes <<<"$("$bench_floor" read "$file" |
        sed -n 's/.*packets=\([0-9]*\) bytes=\([0-9]*\).*/\1 \2/p')"
    echo "run_benchmarks: $c.pcap: $(stat -c %s "$file") bytes, $packets packets, $bytes wire bytes" >&2
    contenders=(read decode control events files tcpflow)
    [[ $c == concurrent && -z ${BENCH_CONCURRENT_ALL:-} ]] && contenders=(read decode control)
    declare -A best=() rss=() cpu=() failed=()
    for ((r = 1; r <= runs; r++)); do
        for t in "${contenders[@]}"; do
            [[ -n ${failed[$t]:-} ]] && continue
            if m=$(run_once "$t" "$file" "$scratch/$c.$t"); then
                read -r w k u <<<"$m"
                echo "run_benchmarks: $c round $r: $t ${w}s ${k}KiB cpu ${u}s" >&2
                if [[ -z ${cpu[$t]:-} ]] || awk -v a="$u" -v b="${cpu[$t]}" 'BEGIN { exit !(a < b) }'; then
                    cpu[$t]=$u
                fi
                if [[ -z ${best[$t]:-} ]] || awk -v a="$w" -v b="${best[$t]}" 'BEGIN { exit !(a < b) }'; then
                    best[$t]=$w
                fi
                if [[ -z ${rss[$t]:-} ]] || ((k > rss[$t])); then rss[$t]=$k; fi
            else
                failed[$t]=1
            fi
        done
    done
    # What stethoscope said about the file (sessions, stream and gap bytes).
    for t in control events files; do
        [[ -f $scratch/$c.$t.stderr ]] || continue
        done_line=$(grep -o 'done: .*' "$scratch/$c.$t.stderr" | tail -1 || true)
        if [[ -n $done_line ]]; then
            echo "run_benchmarks: $c $t: stethoscope $done_line" >&2
            notes+=("$c/$t: stethoscope $done_line")
        fi
    done
    floor=${best[read]:-}
    for t in "${contenders[@]}"; do
        target=""
        limit_ratio=""
        limit_rss=""
        case $c:$t in
            bulk:control) limit_ratio=1.3 ;;
            bulk:events) limit_ratio=1.2 ;;
            short:events) limit_ratio=2.5 ;;
            bulk:files) limit_ratio=2.0 ;;
            short:control | short:files)
                [[ $t == control ]] && limit_ratio=2.0 || limit_ratio=5.0
                limit_rss=64 ;;
            concurrent:control | concurrent:files) limit_rss=1024 ;;
        esac
        [[ -n $limit_ratio ]] && target="<= ${limit_ratio}x"
        [[ -n $limit_rss ]] && target="${target:+$target, }RSS <= ${limit_rss} MiB"
        if [[ -n ${failed[$t]:-} || -z ${best[$t]:-} ]]; then
            row "$fmt" "$c" "$t" - - - - - - "$target" FAIL
            status=1
            continue
        fi
        w=${best[$t]}
        ratio=$(awk -v a="$w" -v b="${floor:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        gbps=$(awk -v w="$w" -v b="$bytes" 'BEGIN { printf "%.2f", b * 8 / w / 1e9 }')
        mpps=$(awk -v w="$w" -v p="$packets" 'BEGIN { printf "%.2f", p / w / 1e6 }')
        mib=$(awk -v k="${rss[$t]}" 'BEGIN { printf "%.1f", k / 1024 }')
        result=""
        if [[ -n $target ]]; then
            result=PASS
            if [[ -n $limit_ratio ]] && awk -v r="$ratio" -v l="$limit_ratio" 'BEGIN { exit !(r > l) }'; then
                result=MISS
            fi
            if [[ -n $limit_rss ]] && awk -v m="$mib" -v l="$limit_rss" 'BEGIN { exit !(m > l) }'; then
                result=MISS
            fi
            [[ $result == MISS && $status -eq 0 ]] && status=3
        fi
        row "$fmt" "$c" "$t" "$w" "$ratio" "$gbps" "$mpps" "$mib" "${cpu[$t]}" "$target" "$result"
    done
    unset best rss cpu failed
done

{
    echo "stethoscope offline benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, best of $runs"
    echo "binary: $stethoscope"
    for c in $captures; do
        f="$capture_dir/$c.pcap"
        [[ -s $f ]] && echo "$c.pcap: $(stat -c %s "$f") bytes; $(tr '\n' ' ' <"$f.info" 2>/dev/null)"
    done
    echo
    printf '%s\n' "${table[@]}"
    echo
    printf '%s\n' "${notes[@]}"
} | tee "$results"
exit $status
