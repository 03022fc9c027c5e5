#!/usr/bin/env bash
# run_load_benchmark.sh — live-capture load benchmark: tcpreplay onto a veth at increasing
# rates, stethoscope (reassembling, control-only) next to `tcpdump -w /dev/null` (Linux, root).
#
#   run_load_benchmark.sh [CAPTURE] [STETHOSCOPE_BIN]
#
# CAPTURE          default <repo>/build-bench/bench-captures/bulk.pcap (bulk.pcap and
#                  short.pcap are made with make_bench_captures.sh when missing).
# STETHOSCOPE_BIN  default <repo>/build/stethoscope (plugins next to it).
#
# Setup: two network namespaces joined by one veth pair (tests/tools/netns.sh, MTU 1500,
# offloads off, addresses removed so neither stack answers the replayed packets).
# tcpreplay sends on the "cli" end; the capturer listens on the "srv" end, where the frames
# arrive with their original (foreign) MACs — a packet socket sees them anyway
# (PACKET_OTHERHOST); the lowest rate checks that every tool sees every packet.
# net.core.netdev_max_backlog is raised while running and restored on exit.
#
# The first LOAD_PACKETS packets of CAPTURE are cut into a slice on tmpfs (tcpreplay -K
# preloads it); the slice is read once offline (`stethoscope -r`) for the reference:
# sessions and stream bytes. Then for each rate (`--pps`, and `--topspeed` last), and for
# each tool, one replay of the slice:
#   tcpdump  tcpdump -n -Z root -i IF -w /dev/null -B 32768 (-Z root: it writes its stats
#            files; no effect on the capture)
#   w1, w2   stethoscope -i IF -c CONFIG, workers 1 / 2, with
#            {"capture":{"mode":"filter","workers":W,"stats_interval_sec":0,
#             "buffer_bytes":33554432,"immediate":LOAD_IMMEDIATE (default true)},"log":{"events_stdout":false}}
# The capturer is started (and waited for), tcpreplay runs, then after LOAD_DRAIN_SEC the
# capturer gets SIGINT. Per run: packets sent (tcpreplay), delivered by the veth (its
# rx_packets), the capturer's received / dropped-by-kernel / dropped-by-interface (tcpdump's
# summary; for stethoscope libpcap's pcap_stats() via the LD_PRELOAD shim
# load_pcap_stats_shim.c, because capture_stats is not printed with events_stdout false),
# stethoscope's queue drops (delivered to it by the kernel minus the packets its engines
# saw, from the final "done:" log line) and the capturer's CPU time (user+sys of all its
# threads: getrusage at exit via the shim; /usr/bin/time as a fallback). The kernel's
# work of copying into the packet ring runs in the sender's (tcpreplay's) softirq and is
# in neither tool's CPU time.
# drops = dropped_kernel + dropped_interface (+ dropped_queue_full). "reassembled" is
# "yes" when sessions and stream bytes (and gap bytes) equal the offline reference.
#
# Environment:
#   LOAD_RATES       target rates in packets/s, "top" = --topspeed
#                    (default "50000 100000 200000 300000 400000 600000 800000 top");
#                    once tcpreplay falls short of a target by >10 % the remaining pps
#                    rates are skipped (they would only repeat top speed)
#   LOAD_PACKETS     packets per replay (default 300000; 0 = the whole capture)
#   LOAD_TOOLS       default "tcpdump w1 w2"
#   LOAD_DRAIN_SEC   default 1
#   LOAD_BUDGET_SEC  rates that would not fit in this many seconds (since start) are
#                    skipped, except top (default 270)
#   LOAD_PERF        1: perf record -g the stethoscope runs at top speed, print top symbols
#   LOAD_RESULTS     also write the report to this file
#   LOAD_BACKLOG     net.core.netdev_max_backlog while running (default 300000)
# Exit: 0 done (the table is a measurement, not a pass/fail), 1 setup failure, 2 usage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

case ${1-} in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
(($# <= 2)) || { echo "usage: $0 [CAPTURE] [STETHOSCOPE_BIN]" >&2; exit 2; }
capture=${1:-$repo/build-bench/bench-captures/bulk.pcap}
stethoscope=${2:-$repo/build/stethoscope}

LOAD_RATES=${LOAD_RATES:-"50000 100000 200000 300000 400000 600000 800000 top"}
LOAD_PACKETS=${LOAD_PACKETS:-300000}
LOAD_TOOLS=${LOAD_TOOLS:-"tcpdump w1 w2"}
LOAD_DRAIN_SEC=${LOAD_DRAIN_SEC:-1}
LOAD_BUDGET_SEC=${LOAD_BUDGET_SEC:-270}
LOAD_PERF=${LOAD_PERF:-0}
LOAD_RESULTS=${LOAD_RESULTS:-}
LOAD_BACKLOG=${LOAD_BACKLOG:-300000}

log() { echo "load: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, packet capture)"
[[ $(uname -s) == Linux ]] || die "Linux only"
for t in tcpreplay tcpdump cc perf; do
    [[ $t == perf && $LOAD_PERF != 1 ]] && continue
    command -v "$t" >/dev/null 2>&1 || die "$t not found"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
[[ -x $stethoscope ]] || die "stethoscope binary not found: $stethoscope"
stethoscope=$(cd "$(dirname "$stethoscope")" && pwd)/$(basename "$stethoscope")

if [[ ! -s $capture ]]; then
    name=$(basename "$capture" .pcap)
    case $name in
        bulk | short)
            log "$capture missing: making it with make_bench_captures.sh"
            "$here/make_bench_captures.sh" --only "$name" "$(dirname "$capture")" ||
                die "could not make $capture" ;;
        *) die "capture not found: $capture" ;;
    esac
fi
capture=$(cd "$(dirname "$capture")" && pwd)/$(basename "$capture")

STH_NS_PREFIX=${STH_NS_PREFIX:-sthload$$}
# shellcheck source=tests/tools/netns.sh
source "$repo/tests/tools/netns.sh"

t_start=$SECONDS
work=
bg_pids=()
cleanup() {
    set +e
    local p
    for p in "${bg_pids[@]}"; do
        [[ -n $p ]] && kill -KILL "$p" 2>/dev/null
    done
    sth_ns_down
    sth_backlog_restore
    [[ -n $work ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

work=$(mktemp -d /dev/shm/sth-load.XXXXXX)

# ---------------------------------------------------------------- helpers

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Sum of the "dropped" column of /proc/net/softnet_stat (backlog overflows, host-wide).
softnet_drops() {
    local total=0 d
    while read -r _ d _; do total=$((total + 16#$d)); done </proc/net/softnet_stat
    echo "$total"
}

srv_rx_packets() { ip netns exec "$STH_NS_SRV" cat "/sys/class/net/$STH_NS_IF/statistics/rx_packets"; }

# find_proc PID COMM: PID itself or its descendant (3 levels) whose comm is COMM.
find_proc() {
    local pid=$1 comm=$2 c g
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] && { echo "$pid"; return 0; }
    for c in $(pgrep -P "$pid" 2>/dev/null); do
        [[ $(cat "/proc/$c/comm" 2>/dev/null) == "$comm" ]] && { echo "$c"; return 0; }
        for g in $(pgrep -P "$c" 2>/dev/null); do
            [[ $(cat "/proc/$g/comm" 2>/dev/null) == "$comm" ]] && { echo "$g"; return 0; }
        done
    done
    return 1
}

# wait_for FILE PATTERN PID: until PATTERN is in FILE (max 10 s) while PID lives.
wait_for() {
    local _i
    for _i in $(seq 1 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_proc PID [WAITER_PID]: SIGINT, up to 15 s, then SIGKILL; waits for WAITER_PID.
stop_proc() {
    local pid=$1 waiter=${2:-$1} _i
    kill -INT "$pid" 2>/dev/null || true
    for _i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop on SIGINT; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$waiter" 2>/dev/null || true
}

# stethoscope's final log line: "done: P packets, S sessions, B stream bytes, G gap bytes, ..."
parse_done() {  # FILE -> "P S B G" (or nothing)
    sed -n 's/.*done: \([0-9]*\) packets, \([0-9]*\) sessions, \([0-9]*\) stream bytes, \([0-9]*\) gap bytes.*/\1 \2 \3 \4/p' "$1" | tail -1
}

kv() {
    [[ -s $1 ]] || return 0
    sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1" | tail -1
}

# ---------------------------------------------------------------- preparation

shim="$work/load_pcap_stats.so"
cc -shared -fPIC -O2 -o "$shim" "$here/load_pcap_stats_shim.c" -lpcap -ldl ||
    die "could not build load_pcap_stats_shim.c (libpcap-dev?)"

slice=$capture
if ((LOAD_PACKETS > 0)); then
    slice="$work/slice.pcap"
    tcpdump -r "$capture" -c "$LOAD_PACKETS" -w "$slice" 2>/dev/null || die "could not slice $capture"
fi

cat >"$work/offline.json" <<'EOF'
{"capture":{"mode":"filter","workers":1,"stats_interval_sec":0},"log":{"events_stdout":false}}
EOF
for w in 1 2; do
    cat >"$work/live-w$w.json" <<EOF
{"capture":{"mode":"filter","workers":$w,"stats_interval_sec":0,"buffer_bytes":33554432,"immediate":${LOAD_IMMEDIATE:-true}},"log":{"events_stdout":false}}
EOF
done

log "offline reference: $stethoscope -r $(basename "$slice")"
"$stethoscope" -r "$slice" -c "$work/offline.json" >/dev/null 2>"$work/offline.err" ||
    die "offline run failed: $(cat "$work/offline.err")"
read -r ref_packets ref_sessions ref_bytes ref_gaps <<<"$(parse_done "$work/offline.err")"
[[ -n ${ref_gaps:-} ]] || die "no done line in the offline run: $(cat "$work/offline.err")"
log "reference: $ref_packets packets, $ref_sessions sessions, $ref_bytes stream bytes, $ref_gaps gap bytes"

sth_ns_up "" >/dev/null 2>"$work/netns.err" || die "network namespaces: $(cat "$work/netns.err")"
ip -n "$STH_NS_CLI" addr flush dev "$STH_NS_IF"
ip -n "$STH_NS_SRV" addr flush dev "$STH_NS_IF"
sth_backlog_raise "$LOAD_BACKLOG"

# ---------------------------------------------------------------- one run

runs="$work/runs.tsv"
: >"$runs"
perf_notes=()

# run_one RATE TOOL: one replay of the slice at RATE with TOOL capturing; appends to $runs
run_one() {
    local rate=$1 tool=$2 tag="$1-$2"
    local err="$work/$tag.err" tfile="$work/$tag.time" sfile="$work/$tag.pcapstats"
    local ufile="$work/$tag.rusage"
    local replay="$work/$tag.replay" comm ready waiter cap perf_pid=
    local load1
    load1=$(cut -d' ' -f1 /proc/loadavg)
    case $tool in
        tcpdump)
            ip netns exec "$STH_NS_SRV" /usr/bin/time -f '%U %S %e' -o "$tfile" \
                env LD_PRELOAD="$shim" LOAD_PCAP_STATS_FILE="$sfile" LOAD_RUSAGE_FILE="$ufile" \
                tcpdump -n -Z root -i "$STH_NS_IF" -w /dev/null -B 32768 >/dev/null 2>"$err" &
            comm=tcpdump ready='listening on' ;;
        w1 | w2)
            ip netns exec "$STH_NS_SRV" /usr/bin/time -f '%U %S %e' -o "$tfile" \
                env LD_PRELOAD="$shim" LOAD_PCAP_STATS_FILE="$sfile" LOAD_RUSAGE_FILE="$ufile" \
                "$stethoscope" -i "$STH_NS_IF" -c "$work/live-$tool.json" >/dev/null 2>"$err" &
            comm=stethoscope ready='capturing on' ;;
        *) die "unknown tool $tool" ;;
    esac
    waiter=$!
    bg_pids+=("$waiter")
    wait_for "$err" "$ready" "$waiter" || die "$tool did not start: $(cat "$err")"
    cap=$(find_proc "$waiter" "$comm") || die "$tool: process not found"
    bg_pids+=("$cap")

    if [[ $LOAD_PERF == 1 && $tool != tcpdump && $rate == top ]]; then
        perf record -q -g -F 2999 -p "$cap" -o "$work/perf-$tool.data" >/dev/null 2>&1 &
        perf_pid=$!
        bg_pids+=("$perf_pid")
        sleep 0.5
    fi

    local rx0 rx1 ld0 ld1 sn0 sn1 rate_opt tmo
    if [[ $rate == top ]]; then
        rate_opt=--topspeed
        tmo=120
    else
        rate_opt=--pps=$rate
        tmo=$((ref_packets * 2 / rate + 60))
    fi
    rx0=$(srv_rx_packets) ld0=$(sth_ns_link_drops) sn0=$(softnet_drops)
    timeout "$tmo" ip netns exec "$STH_NS_CLI" tcpreplay -i "$STH_NS_IF" -K "$rate_opt" "$slice" \
        >"$replay" 2>&1 || log "$tag: tcpreplay failed: $(tail -3 "$replay")"
    sleep "$LOAD_DRAIN_SEC"
    rx1=$(srv_rx_packets) ld1=$(sth_ns_link_drops) sn1=$(softnet_drops)
    if [[ -n $perf_pid ]]; then stop_proc "$perf_pid"; fi
    stop_proc "$cap" "$waiter"

    local sent pps delivered lost received dk di queue=0 processed drops cpu cpu_mpkt
    local sessions=- bytes=- gaps=- reasm=-
    sent=$(awk '/Successful packets:/ { print $3 }' "$replay")
    pps=$(awk '/^Rated:/ { for (i = 1; i <= NF; i++) if ($i ~ /^pps/) print $(i - 1) }' "$replay" | tr -d ,)
    sent=${sent:-0} pps=${pps:-0}
    delivered=$((rx1 - rx0))
    lost=$((sent - delivered))
    if [[ $tool == tcpdump ]]; then
        received=$(awk '/packets received by filter/ { print $1 }' "$err")
        dk=$(awk '/packets dropped by kernel/ { print $1 }' "$err")
        di=$(awk '/packets dropped by interface/ { print $1 }' "$err")
        [[ -n $di ]] || di=$(kv "$sfile" dropped_interface)  # tcpdump prints it only if > 0
        processed=$(sth_tcpdump_captured "$err")
        queue=-
    else
        received=$(kv "$sfile" received)
        dk=$(kv "$sfile" dropped_kernel)
        di=$(kv "$sfile" dropped_interface)
        local d
        d=$(parse_done "$err")
        if [[ -n $d ]]; then
            read -r processed sessions bytes gaps <<<"$d"
            if [[ $sessions == "$ref_sessions" && $bytes == "$ref_bytes" && $gaps == "$ref_gaps" ]]; then
                reasm=yes
            else
                reasm=no
            fi
        else
            log "$tag: no done line: $(tail -3 "$err")"
            processed=
        fi
        [[ -n $received && -n $dk && -n $processed ]] && queue=$((received - dk - processed))
    fi
    if [[ -z ${received:-} || -z ${dk:-} || -z ${processed:-} ]]; then
        log "$tag: capturer counters missing: $(tail -3 "$err")"
        drops="?"
    else
        drops=$((dk + ${di:-0}))
        if [[ $queue != - ]]; then drops=$((drops + queue)); fi
    fi
    # CPU: getrusage at exit (the shim, microseconds), else /usr/bin/time (hundredths).
    cpu=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] ~ /_us$/) t += kv[2] } }
               END { if (NR) printf "%.3f", t / 1e6 }' "$ufile" 2>/dev/null || true)
    local csw
    csw=$(kv "$ufile" nvcsw)
    csw=${csw:-?}
    if [[ -z $cpu ]]; then
        cpu=$(awk 'NF == 3 && $1 ~ /^[0-9.]+$/ { printf "%.2f", $1 + $2 }' "$tfile" 2>/dev/null || true)
        [[ -n $cpu ]] && log "$tag: no rusage from the shim, CPU from /usr/bin/time"
    fi
    cpu=${cpu:-?}
    cpu_mpkt=$(awk -v c="$cpu" -v n="$sent" 'BEGIN { if (c != "?" && n > 0) printf "%.2f", c / n * 1e6; else print "?" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$rate" "$tool" "$pps" "$sent" "$delivered" "$((ld1 - ld0))" "$((sn1 - sn0))" \
        "${received:-?}" "${dk:-?}" "${di:-?}" "$queue" "${processed:-?}" "$drops" "$cpu" "$cpu_mpkt" \
        "$sessions" "$bytes" "$reasm" "$load1" "$csw" >>"$runs"
    log "$(printf '%-7s %-7s %8.0f pps sent %s delivered %s received %s drops %s cpu %s s (%s s/Mpkt) sessions %s bytes %s reassembled %s load %s' \
        "$rate" "$tool" "$pps" "$sent" "$delivered" "${received:-?}" "$drops" "$cpu" "$cpu_mpkt" \
        "$sessions" "$bytes" "$reasm" "$load1")"
    ((lost == 0)) || log "$tag: $lost packets lost before the capture point (veth/backlog)"

    if [[ -n $perf_pid ]]; then
        local rep="$work/perf-$tool.txt"
        perf report -i "$work/perf-$tool.data" --stdio --no-children -g none --percent-limit 1 \
            --sort dso,symbol 2>/dev/null | grep -v '^#' | grep -v '^$' |
            sed -E 's/([[:space:]]+-)*[[:space:]]*$//' |
            head -25 >"$rep" || true
        perf_notes+=("perf record -g (cpu-clock), stethoscope $tool at top speed, self time >= 1 %:")
        mapfile -t -O "${#perf_notes[@]}" perf_notes <"$rep"
        perf_notes+=("")
        rm -f "$work/perf-$tool.data"
    fi
    # Per-run scratch files; the error logs and replay outputs stay until cleanup.
    rm -f "$tfile" "$sfile" "$ufile"
    bg_pids=()
}

# ---------------------------------------------------------------- the rates

log "capture $capture, slice of $ref_packets packets; tools: $LOAD_TOOLS; load average $(loadavg)"
load_before=$(loadavg)
capped=0
first=1
for rate in $LOAD_RATES; do
    if [[ $rate != top ]]; then
        [[ $rate =~ ^[0-9]+$ ]] || die "bad rate '$rate' (packets/s or top)"
        if ((capped)); then
            log "skipping $rate pps: tcpreplay already fell short of a lower target"
            continue
        fi
        est=$(( (ref_packets / rate + 4) * $(wc -w <<<"$LOAD_TOOLS") ))
        if ((SECONDS - t_start + est > LOAD_BUDGET_SEC)); then
            log "skipping $rate pps: would exceed LOAD_BUDGET_SEC=$LOAD_BUDGET_SEC"
            continue
        fi
    fi
    for tool in $LOAD_TOOLS; do run_one "$rate" "$tool"; done
    if ((first)); then
        # The capture point must see every packet at the lowest rate.
        awk -F'\t' -v r="$rate" -v want="$ref_packets" '$1 == r {
                if ($4 != want) printf "load: WARNING: %s sent %s of %s packets\n", $2, $4, want
                if ($13 == "0" && $12 != $5) printf "load: WARNING: %s saw %s of %s delivered packets\n", $2, $12, $5
            }' "$runs" >&2
        first=0
    fi
    if [[ $rate != top ]]; then
        # Mean achieved rate over this rate's runs below 90 % of the target: tcpreplay's cap.
        if awk -F'\t' -v r="$rate" '$1 == r { s += $3; n++ } END { exit !(n && s / n < 0.9 * r) }' "$runs"; then
            capped=1
        fi
    fi
done
load_after=$(loadavg)

# ---------------------------------------------------------------- report

report() {
    echo "stethoscope live-capture load benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r)"
    echo "capture: $capture, first $ref_packets packets ($(stat -c %s "$slice") bytes): $ref_sessions sessions, $ref_bytes stream bytes, $ref_gaps gap bytes (offline stethoscope -r)"
    echo "stethoscope: $stethoscope; tcpdump: tcpdump -w /dev/null -B 32768; replay: tcpreplay -K onto a veth (MTU 1500, offloads off), netdev_max_backlog $LOAD_BACKLOG"
    echo "load average (1/5/15 min): before $load_before, after $load_after; wall time $((SECONDS - t_start)) s"
    echo
    echo "Per run (drops = dropped_kernel + dropped_interface + dropped_queue_full; cpu = user+sys of the capturer;"
    echo "vol ctxsw = the capturer's voluntary context switches, i.e. how often it slept and was woken):"
    {
        printf 'rate\ttool\tsent pps\tsent\tveth rx\tveth drop\tbacklog drop\treceived\tdrop kern\tdrop if\tdrop queue\tprocessed\tdrops\tcpu s\tcpu s/Mpkt\tsessions\tstream bytes\treassembled\tload1\tvol ctxsw\n'
        cat "$runs"
    } | column -t -s $'\t'
    echo
    echo "Side by side (kpps = rate tcpreplay achieved in that run; drops; CPU seconds per million packets):"
    awk -F'\t' '
        { key = $1 SUBSEP $2; pps[key] = $3; drops[key] = $13; cpm[key] = $15; re[key] = $18
          if (!(seen[$1]++)) { order[++n] = $1; ld[$1] = $19 }
          ran[$2] = 1
          if ($13 == "0" && $3 + 0 > best[$2] + 0) best[$2] = $3
          if ($13 != "0") dropped[$2] = 1 }
        function k(x) { return x == "" ? "-" : sprintf("%.0f", x / 1000) }
        function v(x) { return x == "" ? "-" : x }
        END {
            fmt = "%-8s | %-15s | %-13s | %-15s | %-15s | %-17s | %-17s | %-15s | %s\n"
            printf fmt, "rate", "kpps td/w1/w2", "tcpdump drops", "sth w1 drops", "sth w2 drops", \
                "CPU s/Mpkt td", "CPU s/Mpkt w1/w2", "reassembled w1/w2", "load1"
            for (i = 1; i <= n; i++) {
                r = order[i]
                printf fmt, r, k(pps[r SUBSEP "tcpdump"]) "/" k(pps[r SUBSEP "w1"]) "/" k(pps[r SUBSEP "w2"]), \
                    v(drops[r SUBSEP "tcpdump"]), v(drops[r SUBSEP "w1"]), v(drops[r SUBSEP "w2"]), \
                    v(cpm[r SUBSEP "tcpdump"]), v(cpm[r SUBSEP "w1"]) "/" v(cpm[r SUBSEP "w2"]), \
                    v(re[r SUBSEP "w1"]) "/" v(re[r SUBSEP "w2"]), v(ld[r])
            }
            print ""
            split("tcpdump w1 w2", tools, " ")
            for (t = 1; t <= 3; t++) {
                if (!ran[tools[t]]) continue
                name = tools[t] == "tcpdump" ? "tcpdump" : "stethoscope " tools[t]
                printf "highest zero-drop rate, %-15s %s%s\n", name ":", \
                    best[tools[t]] == "" ? "none" : sprintf("%.0f pps", best[tools[t]]), \
                    dropped[tools[t]] ? " (dropped at some rate)" : " (no drops at any rate)"
            }
        }' "$runs"
    echo "(a run below its target rate: tcpreplay could not send faster while that capturer ran —"
    echo " they share the CPUs, and the kernel copies into the capture ring in tcpreplay's context)"
    if ((${#perf_notes[@]})); then
        echo
        printf '%s\n' "${perf_notes[@]}"
    fi
}

if [[ -n $LOAD_RESULTS ]]; then
    report | tee "$LOAD_RESULTS"
else
    report
fi
