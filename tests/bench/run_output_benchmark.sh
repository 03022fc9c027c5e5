#!/usr/bin/env bash
# run_output_benchmark.sh — throughput and concurrency of the connector output
# (io.output.remote-host) reading captures offline, against a local TCP sink.
#
#   run_output_benchmark.sh [CAPTURE_DIR] [STETHOSCOPE_BIN]
#
# CAPTURE_DIR      default: <repo>/build-bench/bench-captures; bulk.pcap is made first with
#                  make_bench_captures.sh when missing (root: it needs network namespaces).
# STETHOSCOPE_BIN  default: <repo>/build/stethoscope (plugins in <its dir>/plugins).
#
# The sink is tests/bench/sink.py on 127.0.0.1 (one process, epoll, 1 MiB reads; it
# closes a connection on EOF and counts bytes and connections per port); a fresh one for
# every run. Every contender runs with the connector only:
#   {"capture": {"input": "pcap-file", "mode": "filter"},
#    "io": {"output": {"remote-host": {"enabled": true, "requests": "127.0.0.1:P1",
#                                      "responses": "127.0.0.1:P2", "queue_bytes": Q,
#                                      "half_close": true}}},
#    "log": {"events_stdout": true}}
# half_close: the sink is a consumer that reads to EOF, so each connection ends when its
# stream is out (by default the connector would keep it open until the target has been
# quiet for linger_sec, as a replayed server needs).
#
# 1. Throughput, on bulk.pcap:
#    connector   stethoscope -c CONFIG -r bulk.pcap > events; wall time from its start to
#                the later of its exit and the sink's last byte. Bytes = the sum of the
#                connector.{requests,responses}.delivered_bytes counters of the final
#                capture_stats event; checked: delivered == reassembled, 0 dropped bytes
#                and segments, every session_closed has delivered == reassembled and
#                dropped 0, and the sink read exactly that many bytes.
#    copy floor  cat FILE | nc -N 127.0.0.1 P1 into the same sink, FILE = as many bytes
#                (from /dev/urandom, on tmpfs) as the connector delivered.
#    Best wall time of RUNS (default 3) runs each, rounds interleaved. MB/s = 10^6 B/s.
#    "cpu s" is the smallest user+sys time of the runs (stethoscope; cat and nc).
#    Target: connector MB/s >= OUT_TARGET_RATIO (default 0.80) x copy floor MB/s.
#    Mind: OpenBSD nc writes 16 KiB per call, so this floor is bound by system calls (and
#    one connection); the connector writes up to 1 MiB per call on 2 per session. The
#    sink itself takes well over 1.5 GB/s from one sendfile() sender on 127.0.0.1.
#
# 2. Concurrency, on CAPTURE_DIR/concurrent-data-<N>x<S>.pcap (made by
#    gen_concurrent_data.py when missing): N (default 1000) sessions, all open at once,
#    each with S (default 20) request and S response segments, then all closed by FINs.
#    The capture is fed through a FIFO (still the pcap-file input, reading offline):
#    the file header, a pause of 1 s (the process's baseline fd count is sampled), all
#    packets, then OUT_CONC_HOLD_SEC (default 2) s with the FIFO still open, so the
#    process is still running after every session has ended (the "after" fd count),
#    then EOF. While it runs, /proc/PID/fd and the sink's open connections are sampled
#    every 20 ms. Checked: the run ends within OUT_CONC_TIMEOUT (default 60) s;
#    connector.connects == output_connected events == sink accepted == 2N; the sink
#    held all 2N open at once and saw all 2N closed by EOF (none reset); every session
#    delivered == reassembled with 0 dropped; the sink read every byte of the capture's
#    streams; peak fds <= baseline + 2N + OUT_FD_SLACK (default 16); fds after <=
#    baseline + OUT_FD_SLACK. "wall s" = from the first packet written to the FIFO to
#    the moment the sink had every byte and every connection closed.
#
# The table is printed and saved to OUT_BENCH_RESULTS (default
# CAPTURE_DIR/output_results.txt).
# Exit status: 0 every target met, 3 a target missed, 1 a run failed or a check failed.
#
# Environment: RUNS, OUT_BENCH_PORTS (two ports, default "18081 18082"), OUT_QUEUE_BYTES
# (default 4194304), OUT_BENCH_TIMEOUT (s per throughput run, 300), OUT_BENCH_TESTS
# (subset of "throughput concurrency"), OUT_CONC_SESSIONS, OUT_CONC_SEGMENTS,
# OUT_CONC_TIMEOUT, OUT_CONC_HOLD_SEC, OUT_FD_SLACK, OUT_TARGET_RATIO, OUT_BENCH_RESULTS.
# ev_* are assigned by `eval "$(check_events FILE)"`; the bash -c scripts expand their own $1.
# shellcheck disable=SC2154,SC2016
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

case ${1-} in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '/shellcheck\|ev_\* are/d; $d; s/^# \{0,1\}//'; exit 0 ;; esac
(($# <= 2)) || { echo "usage: $0 [CAPTURE_DIR] [STETHOSCOPE_BIN]" >&2; exit 2; }
capture_dir=${1:-$repo/build-bench/bench-captures}
stethoscope=${2:-$repo/build/stethoscope}
runs=${RUNS:-3}
run_timeout=${OUT_BENCH_TIMEOUT:-300}
tests=${OUT_BENCH_TESTS:-throughput concurrency}
read -r port_req port_resp <<<"${OUT_BENCH_PORTS:-18081 18082}"
queue_bytes=${OUT_QUEUE_BYTES:-4194304}
target_ratio=${OUT_TARGET_RATIO:-0.80}
conc_sessions=${OUT_CONC_SESSIONS:-1000}
conc_segments=${OUT_CONC_SEGMENTS:-20}
conc_timeout=${OUT_CONC_TIMEOUT:-60}
conc_hold=${OUT_CONC_HOLD_SEC:-2}
fd_slack=${OUT_FD_SLACK:-16}

log() { echo "output_bench: $*" >&2; }
die() {
    log "$*"
    [[ -n ${scratch:-} && -d $scratch ]] && echo "$*" >"$scratch/why"  # a run in a subshell
    exit 1
}
[[ -x $stethoscope ]] || die "no stethoscope binary at $stethoscope"
[[ -n $port_req && -n $port_resp ]] || die "OUT_BENCH_PORTS needs two ports"
awk -v t="$conc_timeout" -v h="$conc_hold" 'BEGIN { exit !(t > h + 1) }' ||
    die "OUT_CONC_TIMEOUT ($conc_timeout) must exceed 1 + OUT_CONC_HOLD_SEC ($conc_hold)"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed"
command -v nc >/dev/null 2>&1 || die "nc (netcat-openbsd) is not installed"
nc -h 2>&1 | grep -q -- '-N' || die "nc has no -N (shutdown on EOF): install netcat-openbsd"
if [[ ! -x /usr/bin/time ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null || die "no /usr/bin/time"
fi

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$capture_dir"
capture_dir=$(cd "$capture_dir" && pwd)
results=${OUT_BENCH_RESULTS:-$capture_dir/output_results.txt}
bulk=$capture_dir/bulk.pcap
if [[ $tests == *throughput* && ! -s $bulk ]]; then
    log "making bulk.pcap in $capture_dir"
    "$here/make_bench_captures.sh" --only bulk "$capture_dir" || die "could not make bulk.pcap"
fi

# --- scratch space on tmpfs; everything started here is stopped on exit ----------------
scratch=$(mktemp -d /dev/shm/sth-outbench.XXXXXX)
sink_pid="" feeder_pid="" sth_pid=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    local p pids=("$sth_pid" "$feeder_pid" "$sink_pid")
    # A sink started by a run in a command substitution (a subshell) left its pid here.
    [[ -s $scratch/sink.pid ]] && pids+=("$(cat "$scratch/sink.pid")")
    for p in "${pids[@]}"; do
        if [[ -n $p ]]; then kill -TERM "$p" 2>/dev/null || true; fi
    done
    for p in "${pids[@]}"; do
        if [[ -n $p ]]; then wait "$p" 2>/dev/null || true; fi
    done
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cfg=$scratch/connector.json
cat >"$cfg" <<EOF
{"capture": {"input": "pcap-file", "mode": "filter"},
 "io": {"output": {"remote-host": {"enabled": true,
                                   "requests": "127.0.0.1:$port_req",
                                   "responses": "127.0.0.1:$port_resp",
                                   "queue_bytes": $queue_bytes,
                                   "half_close": true}}},
 "log": {"events_stdout": true}}
EOF

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# The sink's status/summary line, matched without forking (our own fixed JSON layout).
total_re='"total": \{"bytes": ([0-9]+), "accepted": ([0-9]+), "closed_eof": ([0-9]+), "closed_error": ([0-9]+), "open": ([0-9]+), "peak_open": ([0-9]+)\}'

# start_sink NAME: a fresh sink on both ports; sets sink_pid, sink_status, sink_summary.
start_sink() {
    sink_status=$scratch/$1.status
    sink_summary=$scratch/$1.summary
    rm -f "$sink_status" "$scratch/$1.ready"
    python3 "$here/sink.py" --status "$sink_status" --status-interval 0.02 \
        --ready "$scratch/$1.ready" "$port_req" "$port_resp" \
        >"$sink_summary" 2>"$scratch/$1.sink.stderr" &
    sink_pid=$!
    echo "$sink_pid" >"$scratch/sink.pid"
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -e $scratch/$1.ready ]] && return 0
        kill -0 "$sink_pid" 2>/dev/null || break
        sleep 0.05
    done
    die "the sink did not start on 127.0.0.1:$port_req/$port_resp: $(tail -2 "$scratch/$1.sink.stderr")"
}

# sink_total FILE: sets s_bytes s_accepted s_closed s_errors s_open s_peak (0 if unread).
sink_total() {
    local line=""
    s_bytes=0 s_accepted=0 s_closed=0 s_errors=0 s_open=0 s_peak=0
    if [[ -s $1 ]]; then IFS= read -r line <"$1" 2>/dev/null || true; fi
    if [[ $line =~ $total_re ]]; then
        s_bytes=${BASH_REMATCH[1]} s_accepted=${BASH_REMATCH[2]} s_closed=${BASH_REMATCH[3]}
        s_errors=${BASH_REMATCH[4]} s_open=${BASH_REMATCH[5]} s_peak=${BASH_REMATCH[6]}
    fi
}

# wait_sink BYTES CONNS SECONDS: until the sink has read BYTES and closed CONNS by EOF.
wait_sink() {
    local deadline=$(($(now_ns) + $3 * 1000000000))
    while (($(now_ns) < deadline)); do
        sink_total "$sink_status"
        ((s_bytes >= $1 && s_closed >= $2)) && return 0
        sleep 0.02
    done
    return 1
}

# stop_sink: SIGTERM, wait; then the summary fields (sink_total) and s_last_byte_ns.
stop_sink() {
    kill -TERM "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    sink_pid=""
    rm -f "$scratch/sink.pid"
    sink_total "$sink_summary"
    s_last_byte_ns=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); t = d.get("last_byte")
print(int(t * 1e9) if t else 0)' "$sink_summary" 2>/dev/null || echo 0)
}

# check_events EVENTS: shell assignments (ev_*) from stethoscope's NDJSON events.
check_events() {
    python3 - "$1" <<'PY'
import json, shlex, sys
sessions = bad = connected = errors = overflows = 0
first_bad = ""
counters = {}
stream_bytes = 0
with open(sys.argv[1]) as f:
    for line in f:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        t = e.get("event")
        if t == "session_closed":
            sessions += 1
            c = e.get("outputs", {}).get("connector")
            ok = c is not None
            for d in ("requests", "responses"):
                s = (c or {}).get(d)
                if (s is None or s.get("delivered") != s.get("reassembled") or s.get("dropped")
                        or s.get("dropped_segments") or s.get("queued") or s.get("error")):
                    ok = False
                if s is not None and s.get("reassembled") != e.get(d, {}).get("bytes"):
                    ok = False
            if not ok:
                bad += 1
                if not first_bad:
                    first_bad = "session %s: %s" % (e.get("session"), json.dumps(c))
        elif t == "output_connected":
            connected += 1
        elif t == "output_error":
            errors += 1
            if not first_bad:
                first_bad = "output_error: " + line.strip()[:300]
        elif t == "output_overflow":
            overflows += 1
        elif t == "capture_stats":
            counters = e.get("counters", {})
            stream_bytes = e.get("stream_bytes", 0)
g = lambda k: int(counters.get("connector." + k, 0))
out = {
    "sessions": sessions, "bad": bad, "first_bad": first_bad, "connected": connected,
    "errors": errors, "overflows": overflows, "stream_bytes": stream_bytes,
    "have_counters": int(bool(counters)),
    "delivered": g("requests.delivered_bytes") + g("responses.delivered_bytes"),
    "reassembled": g("requests.reassembled_bytes") + g("responses.reassembled_bytes"),
    "dropped": g("requests.dropped_bytes") + g("responses.dropped_bytes"),
    "dropped_segments": g("requests.dropped_segments") + g("responses.dropped_segments"),
    "failures": g("requests.failures") + g("responses.failures"),
    "connects": g("connects"), "connect_failures": g("connect_failures"),
}
for k, v in out.items():
    print("ev_%s=%s" % (k, shlex.quote(str(v))))
PY
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

table=()
notes=()
status=0
fail() { notes+=("FAIL: $*"); log "FAIL: $*"; status=1; }
# shellcheck disable=SC2059  # the formats are defined right here
row() { table+=("$(printf "$@")"); }

# Both ports free, the sink works: else stop here.
start_sink preflight
stop_sink

# --- 1. throughput ----------------------------------------------------------------------
# The runs below run in command substitutions (subshells): why one failed goes to a file.
run_failed() { echo "$*" >"$scratch/why"; return 1; }

# connector_run N: one connector run on bulk.pcap; prints "WALL BYTES CPU" or fails.
connector_run() {
    local n=$1 t0 t1 rc=0 end cpu
    local ev=$scratch/bulk.$n.events err=$scratch/bulk.$n.stderr
    start_sink "bulk.$n"
    rm -f "$scratch/time.out"
    t0=$(now_ns)
    timeout "$run_timeout" /usr/bin/time -f '%U %S' -o "$scratch/time.out" \
        "$stethoscope" -c "$cfg" -r "$bulk" >"$ev" 2>"$err" || rc=$?
    t1=$(now_ns)
    cpu=$(awk 'END { if (NF >= 2) printf "%.2f", $(NF - 1) + $NF; else print "-" }' "$scratch/time.out" 2>/dev/null || echo -)
    local ev_delivered=0
    eval "$(check_events "$ev")"
    wait_sink "$ev_delivered" 0 30 || true
    stop_sink
    end=$(max "$t1" "$s_last_byte_ns")
    ((rc == 0)) || run_failed "stethoscope exit $rc$( ((rc == 124)) && echo " (timed out)"): $(tail -2 "$err" | tr '\n' ' ')"
    local why=()
    ((ev_have_counters)) || why+=("no final capture_stats counters")
    ((ev_delivered == ev_reassembled)) || why+=("delivered $ev_delivered != reassembled $ev_reassembled")
    ((ev_reassembled == ev_stream_bytes)) || why+=("reassembled $ev_reassembled != stream bytes $ev_stream_bytes")
    ((ev_dropped == 0 && ev_dropped_segments == 0)) ||
        why+=("dropped $ev_dropped bytes / $ev_dropped_segments segments")
    ((ev_bad == 0)) || why+=("$ev_bad sessions not fully delivered (first: $ev_first_bad)")
    ((ev_errors == 0 && ev_failures == 0)) || why+=("$ev_errors output_error events")
    ((s_bytes == ev_delivered)) || why+=("the sink read $s_bytes bytes, delivered $ev_delivered")
    ((s_errors == 0)) || why+=("$s_errors connections reset at the sink")
    ((${#why[@]} == 0)) || run_failed "${why[*]}"
    echo "$(secs "$t0" "$end") $ev_delivered $cpu"
}

# floor_run N FILE: one `cat FILE | nc -N` run; prints "WALL BYTES CPU" or fails.
floor_run() {
    local n=$1 file=$2 t0 t1 rc=0 end cpu size
    size=$(stat -L -c %s "$file")
    start_sink "floor.$n"
    rm -f "$scratch/time.out"
    t0=$(now_ns)
    timeout "$run_timeout" /usr/bin/time -f '%U %S' -o "$scratch/time.out" \
        bash -c 'cat "$1" | nc -N 127.0.0.1 "$2"' _ "$file" "$port_req" \
        >/dev/null 2>"$scratch/floor.$n.stderr" || rc=$?
    t1=$(now_ns)
    cpu=$(awk 'END { if (NF >= 2) printf "%.2f", $(NF - 1) + $NF; else print "-" }' "$scratch/time.out" 2>/dev/null || echo -)
    wait_sink "$size" 1 30 || true
    stop_sink
    end=$(max "$t1" "$s_last_byte_ns")
    ((rc == 0)) || run_failed "exit $rc: $(tail -2 "$scratch/floor.$n.stderr" | tr '\n' ' ')"
    ((s_bytes == size)) || run_failed "the sink read $s_bytes of $size bytes"
    echo "$(secs "$t0" "$end") $size $cpu"
}

tfmt='%-12s %-11s %8s %14s %9s %8s %7s  %-22s %s'
if [[ $tests == *throughput* ]]; then
    cat "$bulk" >/dev/null  # into the page cache
    log "bulk.pcap: $(stat -L -c %s "$bulk") bytes; $runs rounds of connector and copy floor"
    declare -A best=() bytes=() cpu=() failed=()
    floor_file=""
    for ((r = 1; r <= runs; r++)); do
        for t in connector floor; do
            [[ -n ${failed[$t]:-} ]] && continue
            rm -f "$scratch/why"
            if [[ $t == connector ]]; then
                m=$(connector_run "$r") ||
                    { failed[$t]=1; fail "connector round $r: $(cat "$scratch/why" 2>/dev/null)"; continue; }
            else
                if [[ -z $floor_file ]]; then
                    # As many bytes as the connector delivered (else: its stream bytes).
                    n=${bytes[connector]:-$(grep -o '[0-9]* stream bytes' "$scratch/bulk.1.stderr" 2>/dev/null | cut -d' ' -f1 || true)}
                    [[ -n $n ]] || { failed[$t]=1; fail "copy floor: no byte count"; continue; }
                    floor_file=$scratch/floor.bin
                    head -c "$n" /dev/urandom >"$floor_file"
                fi
                m=$(floor_run "$r" "$floor_file") ||
                    { failed[$t]=1; fail "copy floor round $r: $(cat "$scratch/why" 2>/dev/null)"; continue; }
            fi
            read -r w b c <<<"$m"
            log "round $r: $t ${w}s $b bytes cpu ${c}s"
            if [[ -z ${best[$t]:-} ]] || lt "$w" "${best[$t]}"; then best[$t]=$w; fi
            if [[ -z ${cpu[$t]:-} || ${cpu[$t]} == - ]] || { [[ $c != - ]] && lt "$c" "${cpu[$t]}"; }; then
                cpu[$t]=$c
            fi
            bytes[$t]=$b
        done
    done
    row "$tfmt" test contender "wall s" bytes "MB/s" "x floor" "cpu s" target result
    mbps() { awk -v b="$1" -v w="$2" 'BEGIN { printf "%.1f", b / w / 1e6 }'; }
    if [[ -n ${best[floor]:-} ]]; then
        floor_mbps=$(mbps "${bytes[floor]}" "${best[floor]}")
        row "$tfmt" throughput "copy floor" "${best[floor]}" "${bytes[floor]}" "$floor_mbps" 1.00 \
            "${cpu[floor]}" "(cat | nc -N)" "-"
    else
        floor_mbps=""
        row "$tfmt" throughput "copy floor" - - - - - "(cat | nc -N)" FAIL
    fi
    if [[ -n ${best[connector]:-} ]]; then
        c_mbps=$(mbps "${bytes[connector]}" "${best[connector]}")
        ratio=-
        result=FAIL
        if [[ -n $floor_mbps ]]; then
            ratio=$(awk -v a="$c_mbps" -v b="$floor_mbps" 'BEGIN { printf "%.2f", a / b }')
            if awk -v r="$ratio" -v l="$target_ratio" 'BEGIN { exit !(r >= l) }'; then
                result=PASS
            else
                result=MISS
                ((status == 0)) && status=3
            fi
        fi
        [[ -n ${failed[connector]:-} ]] && result=FAIL  # a later round failed its checks
        row "$tfmt" throughput connector "${best[connector]}" "${bytes[connector]}" "$c_mbps" \
            "$ratio" "${cpu[connector]}" ">= ${target_ratio}x floor MB/s" "$result"
        notes+=("throughput: connector delivered == reassembled == ${bytes[connector]} bytes, 0 dropped, sink read every byte (each run checked)")
    else
        row "$tfmt" throughput connector - - - - - ">= ${target_ratio}x floor MB/s" FAIL
    fi
    done_line=$(grep -o 'done: .*' "$scratch/bulk.1.stderr" 2>/dev/null | tail -1 || true)
    [[ -n $done_line ]] && notes+=("bulk/connector: stethoscope $done_line")
fi

# --- 2. concurrency ---------------------------------------------------------------------
cfmt='%-12s %8s %7s %8s %8s %8s %9s %7s %9s  %s'
if [[ $tests == *concurrency* ]]; then
    conc=$capture_dir/concurrent-data-${conc_sessions}x${conc_segments}.pcap
    if [[ ! -s $conc || ! -s $conc.info ]]; then
        log "making $(basename "$conc")"
        python3 "$here/gen_concurrent_data.py" "$conc.tmp" --sessions "$conc_sessions" \
            --segments "$conc_segments" >/dev/null || die "gen_concurrent_data.py failed"
        mv "$conc.tmp.info" "$conc.info"
        mv "$conc.tmp" "$conc"
    fi
    expect_bytes=$(awk -F= '/^total_(request|response)_bytes=/ { s += $2 } END { print s + 0 }' "$conc.info")
    conns=$((2 * conc_sessions))
    fifo=$scratch/conc.fifo
    mkfifo "$fifo"
    rm -f "$scratch"/conc.{started,written,hold_over}
    start_sink conc
    # The feeder: the pcap header, a pause (baseline), every packet, a hold (after), EOF.
    timeout "$conc_timeout" bash -c '
        exec >"$1"
        head -c 24 "$2"; sleep 1
        date +%s%N >"$3.started"; tail -c +25 "$2"
        date +%s%N >"$3.written"; sleep "$4"
        : >"$3.hold_over"' _ "$fifo" "$conc" "$scratch/conc" "$conc_hold" &
    feeder_pid=$!
    t0=$(now_ns)
    # Not under timeout(1), so that $! is stethoscope itself (its /proc/PID/fd): the
    # deadline is kept by the sampling loop.
    "$stethoscope" -c "$cfg" -r "$fifo" >"$scratch/conc.events" 2>"$scratch/conc.stderr" &
    sth_pid=$!
    deadline=$((t0 + conc_timeout * 1000000000))
    timed_out=0
    shopt -s nullglob
    baseline="" peak_fd=0 after="" peak_sink=0 done_ns="" samples=0
    while kill -0 "$sth_pid" 2>/dev/null; do
        if ((timed_out == 0 && $(now_ns) > deadline)); then
            log "concurrency: still running after ${conc_timeout}s: SIGTERM"
            timed_out=1
            kill -TERM "$sth_pid" 2>/dev/null || true
        fi
        fds=(/proc/"$sth_pid"/fd/*)
        n=${#fds[@]}
        sink_total "$sink_status"
        if ((n > 0)); then
            samples=$((samples + 1))
            ((n > peak_fd)) && peak_fd=$n
            if [[ ! -e $scratch/conc.started ]]; then
                baseline=$n
            elif [[ -e $scratch/conc.written && ! -e $scratch/conc.hold_over ]]; then
                after=$n
            fi
        fi
        ((s_open > peak_sink)) && peak_sink=$s_open
        if [[ -z $done_ns ]] && ((s_bytes >= expect_bytes && s_closed >= conns)); then
            done_ns=$(now_ns)
        fi
        sleep 0.02
    done
    rc=0
    wait "$sth_pid" || rc=$?
    sth_pid=""
    t1=$(now_ns)
    wait "$feeder_pid" 2>/dev/null || true
    feeder_pid=""
    stop_sink
    ((s_peak > peak_sink)) && peak_sink=$s_peak
    [[ -z $done_ns ]] && ((s_bytes >= expect_bytes && s_closed >= conns)) && done_ns=$t1
    eval "$(check_events "$scratch/conc.events")"
    started_ns=$(cat "$scratch/conc.started" 2>/dev/null || echo "$t0")
    wall=-
    [[ -n $done_ns ]] && wall=$(secs "$started_ns" "$done_ns")
    why=()
    ((timed_out == 0)) || why+=("not finished within ${conc_timeout}s (stalled?)")
    ((rc == 0)) || why+=("stethoscope exit $rc: $(tail -2 "$scratch/conc.stderr" | tr '\n' ' ')")
    [[ -n $done_ns ]] || why+=("the sink never had every byte and every connection closed")
    ((ev_sessions == conc_sessions)) || why+=("$ev_sessions of $conc_sessions sessions closed")
    ((ev_connects == conns && ev_connected == conns)) ||
        why+=("connects $ev_connects, output_connected $ev_connected, expected $conns")
    ((ev_connect_failures == 0)) || why+=("$ev_connect_failures connect failures")
    ((s_accepted == conns)) || why+=("the sink accepted $s_accepted connections")
    ((s_closed == conns && s_errors == 0)) || why+=("the sink saw $s_closed closed by EOF, $s_errors reset")
    ((peak_sink == conns)) || why+=("at most $peak_sink connections open at once, not $conns")
    ((ev_delivered == ev_reassembled && ev_reassembled == expect_bytes)) ||
        why+=("delivered $ev_delivered, reassembled $ev_reassembled, capture $expect_bytes")
    ((ev_dropped == 0 && ev_dropped_segments == 0)) || why+=("dropped $ev_dropped bytes")
    ((ev_bad == 0)) || why+=("$ev_bad sessions not fully delivered (first: $ev_first_bad)")
    ((ev_errors == 0)) || why+=("$ev_errors output_error events")
    ((s_bytes == expect_bytes)) || why+=("the sink read $s_bytes of $expect_bytes bytes")
    result=PASS
    if [[ -z $baseline || -z $after ]]; then
        why+=("fd samples missing (baseline '${baseline}', after '${after}', $samples samples)")
    else
        ((peak_fd <= baseline + conns + fd_slack)) ||
            { why+=("peak fds $peak_fd > baseline $baseline + $conns + $fd_slack"); }
        ((after <= baseline + fd_slack)) ||
            { why+=("fds after the sessions ended: $after > baseline $baseline + $fd_slack (leak?)"); }
    fi
    ((${#why[@]})) && { result=FAIL; fail "concurrency: ${why[*]}"; }
    row "$cfmt" test sessions conns "fds base" "fds peak" "fds end" "sink peak" "wall s" "deliv. MB" result
    row "$cfmt" concurrency "$ev_sessions" "$ev_connects" "${baseline:--}" "$peak_fd" "${after:--}" \
        "$peak_sink" "$wall" "$(awk -v b="$ev_delivered" 'BEGIN { printf "%.1f", b / 1e6 }')" "$result"
    notes+=("concurrency: $(basename "$conc"): $conc_sessions sessions x $conc_segments segments each way, $expect_bytes stream bytes; $samples fd samples; sink closed $s_closed by EOF, $s_errors reset; connector overflow events $ev_overflows; whole run $(secs "$t0" "$t1") s incl. 1 s lead and ${conc_hold} s hold; fds base is sampled before the first packet, before Boost.Asio's reactor exists (its epoll, eventfd and timerfd: 3 of fds end)")
fi

{
    echo "stethoscope connector output benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, best of $runs, load average $loadavg at start"
    echo "binary: $stethoscope"
    [[ $tests == *throughput* ]] && echo "bulk.pcap: $(stat -L -c %s "$bulk") bytes; $(tr '\n' ' ' <"$bulk.info" 2>/dev/null)"
    echo "sink: tests/bench/sink.py on 127.0.0.1:$port_req (requests) and :$port_resp (responses); queue_bytes $queue_bytes"
    echo
    printf '%s\n' "${table[@]}"
    echo
    ((${#notes[@]})) && printf '%s\n' "${notes[@]}"
} | tee "$results"
exit $status
