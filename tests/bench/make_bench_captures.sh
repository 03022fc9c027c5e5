#!/usr/bin/env bash
# make_bench_captures.sh — the captures the offline benchmark runs on (Linux, root).
#
#   make_bench_captures.sh [--force] [--only bulk|short|concurrent] [--gen-concurrent BIN] OUTDIR
#
# Makes, in OUTDIR (a file that exists is kept unless --force):
#   bulk.pcap        >= 500 MB of real HTTP/1.1 traffic: nginx in one network namespace,
#                    four parallel keep-alive curl clients in another (each: downloads of
#                    64 MB, 8 MB, 256 KB, 4 KB, 8 MB, 64 MB and one 8 MB POST), across a veth
#                    pair at MTU 1500 with TSO/GSO/GRO off and transmit checksum offload on.
#   short.pcap       ~100k short HTTP sessions: wrk with `Connection: close` fetching a 3-byte
#                    body; each session is handshake, request, response, FIN both ways.
#   concurrent.pcap  1M concurrent sessions that never close (synthetic: gen_concurrent,
#                    built with -DSTETHOSCOPE_BENCHMARKS=ON).
# Each capture is written to a temporary name and renamed when complete; NAME.pcap.info
# beside it records how it was made (time, tcpdump's counters, rate).
#
# Capturing (per the issue's hints): tcpdump on the client's veth with a 256 MiB buffer,
# pinned to another CPU than nginx and the clients; net.core.netdev_max_backlog raised
# while capturing and restored after; nginx paced with limit_rate. tcpdump's drop counter
# must be 0, and so must the veths' drop counters (no network loss either; the TCP
# retransmission count is recorded, it includes tail loss probes) — else the capture is
# retried at half the rate (bulk) or with fewer
# connections (short), and the script fails if it still drops. All loads are bounded in
# time (curl --max-time, wrk -d, timeout) and the namespaces are removed on exit.
#
# Environment: BULK_RATE (bytes/s per connection for nginx limit_rate, default 25m),
# SHORT_SESSIONS (default 100000), SHORT_CONNECTIONS (wrk -c, default 16),
# CONCURRENT_SESSIONS (default 1000000).
set -euo pipefail

usage() {
    echo "usage: $0 [--force] [--only bulk|short|concurrent] [--gen-concurrent BIN] OUTDIR" >&2
    exit 2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
force=0
only=
gen_concurrent=${GEN_CONCURRENT:-$repo/build-bench/tests/bench/gen_concurrent}
outdir=
while [[ $# -gt 0 ]]; do
    case $1 in
        --force) force=1 ;;
        --only) only=${2:-}; shift ;;
        --gen-concurrent) gen_concurrent=${2:-}; shift ;;
        -h | --help) usage ;;
        -*) usage ;;
        *) [[ -z $outdir ]] || usage; outdir=$1 ;;
    esac
    shift
done
[[ -n $outdir ]] || usage
case $only in "" | bulk | short | concurrent) ;; *) usage ;; esac

BULK_RATE=${BULK_RATE:-25m}
SHORT_SESSIONS=${SHORT_SESSIONS:-100000}
SHORT_CONNECTIONS=${SHORT_CONNECTIONS:-16}
CONCURRENT_SESSIONS=${CONCURRENT_SESSIONS:-1000000}

STH_NS_PREFIX=${STH_NS_PREFIX:-sthbench$$}
# shellcheck source=tests/tools/netns.sh
source "$repo/tests/tools/netns.sh"

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
work=
tcpdump_pid=
cleanup() {
    set +e
    [[ -n $tcpdump_pid ]] && sth_tcpdump_stop "$tcpdump_pid"
    sth_nginx_stop
    sth_ns_down
    sth_backlog_restore
    [[ -n $work ]] && rm -rf "$work"
    rm -f "$outdir"/.*.pcap.partial
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "make_bench_captures: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

wanted() { [[ -z $only || $only == "$1" ]]; }
needed() {
    local f="$outdir/$1.pcap"
    wanted "$1" || return 1
    if [[ -s $f && $force -eq 0 ]]; then
        log "$1.pcap exists ($(stat -c %s "$f") bytes), kept (--force remakes it)"
        return 1
    fi
    return 0
}

# CPU for tcpdump, CPU for the traffic; no pinning on a single CPU.
ncpu=$(nproc)
if ((ncpu >= 2)); then
    pin_traffic=(taskset -c 0)
    pin_tcpdump=(taskset -c 1)
else
    pin_traffic=()
    pin_tcpdump=()
fi

setup_network() {
    [[ -n $work ]] && return 0
    # Large files are served from and captured to tmpfs, so the disk never paces anything.
    work=$(mktemp -d /dev/shm/sth-bench-captures.XXXXXX)
    sth_ns_up ""  # the direct topology: no router, no loss
    # Many sessions from one client: use the whole port range.
    ip netns exec "$STH_NS_CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
    ip netns exec "$STH_NS_SRV" sysctl -qw net.core.somaxconn=65535 \
        net.ipv4.tcp_max_syn_backlog=65535 >/dev/null
    sth_backlog_raise 300000
}

# start_tcpdump FILE: capture TCP on the client's veth.
start_tcpdump() {
    retrans_before=$(($(sth_ns_tcp_retrans "$STH_NS_CLI") + $(sth_ns_tcp_retrans "$STH_NS_SRV")))
    link_drops_before=$(sth_ns_link_drops)
    "${pin_tcpdump[@]}" ip netns exec "$STH_NS_CLI" tcpdump -i "$STH_NS_IF" -n -s 0 -B 262144 \
        -Z root -w "$1" tcp 2>"$work/tcpdump.err" &
    tcpdump_pid=$!
    sth_tcpdump_wait_ready "$work/tcpdump.err"
}

# stop_tcpdump: stops it and sets tcpdump_drops / tcpdump_captured; link_drops: packets
# the veths dropped meanwhile (network loss the capture would show); retrans: segments
# the endpoints retransmitted meanwhile (informational: tail loss probes count too).
stop_tcpdump() {
    sth_tcpdump_stop "$tcpdump_pid"
    tcpdump_pid=
    tcpdump_drops=$(sth_tcpdump_drops "$work/tcpdump.err") || {
        log "no tcpdump summary: $(cat "$work/tcpdump.err")"
        return 1
    }
    tcpdump_captured=$(sth_tcpdump_captured "$work/tcpdump.err")
    retrans=$(($(sth_ns_tcp_retrans "$STH_NS_CLI") + $(sth_ns_tcp_retrans "$STH_NS_SRV") - retrans_before))
    link_drops=$(($(sth_ns_link_drops) - link_drops_before))
}

# install_capture NAME TMPFILE INFO...: moves the finished capture into place.
install_capture() {
    local name=$1 tmp=$2
    shift 2
    local part="$outdir/.$name.pcap.partial"
    cp "$tmp" "$part"
    mv -f "$part" "$outdir/$name.pcap"
    rm -f "$tmp"
    printf '%s\n' "$@" >"$outdir/$name.pcap.info"
    log "$name.pcap: $(stat -c %s "$outdir/$name.pcap") bytes; $*"
}

make_bulk() {
    setup_network
    local www="$work/nginx/www"
    mkdir -p "$www"
    head -c $((64 * 1024 * 1024)) /dev/urandom >"$www/big.bin"
    head -c $((8 * 1024 * 1024)) /dev/urandom >"$www/mid.bin"
    head -c $((256 * 1024)) /dev/urandom >"$www/small.bin"
    head -c 4096 /dev/urandom >"$www/tiny.bin"
    head -c $((8 * 1024 * 1024)) /dev/urandom >"$work/upload.bin"
    local rate=$BULK_RATE attempt
    for attempt in 1 2 3; do
        local t0 tmp="$work/bulk.pcap"
        t0=$(now)
        sth_nginx_stop
        sth_nginx_start_pinned "$rate"
        start_tcpdump "$tmp"
        local base="http://$STH_SRV_IP" pids=() c rc=0
        for c in 1 2 3 4; do
            "${pin_traffic[@]}" ip netns exec "$STH_NS_CLI" curl -sS --fail --max-time 120 \
                -o /dev/null "$base/big.bin" -o /dev/null "$base/mid.bin" \
                -o /dev/null "$base/small.bin" -o /dev/null "$base/tiny.bin" \
                -o /dev/null "$base/mid.bin" -o /dev/null "$base/big.bin" \
                --next -sS --fail --max-time 120 -H 'Expect:' --limit-rate "$rate" \
                --data-binary "@$work/upload.bin" -o /dev/null "$base/upload" \
                >"$work/curl$c.out" 2>&1 &
            pids+=($!)
        done
        for c in "${pids[@]}"; do wait "$c" || rc=1; done
        sleep 0.5
        stop_tcpdump
        if ((rc)); then
            log "bulk: a curl client failed: $(cat "$work"/curl*.out)"
            return 1
        fi
        local secs
        secs=$(elapsed "$t0")
        log "bulk attempt $attempt: limit_rate $rate/connection, $tcpdump_captured packets, $tcpdump_drops dropped by tcpdump, $link_drops dropped by the veths, $retrans retransmitted, ${secs} s"
        if [[ $tcpdump_drops -eq 0 && $link_drops -eq 0 ]]; then
            install_capture bulk "$tmp" "made_in_s=$secs" "tcpdump_captured=$tcpdump_captured" \
                "tcpdump_dropped=$tcpdump_drops" "veth_dropped=$link_drops" "retransmitted_segments=$retrans" "nginx_limit_rate=$rate" "clients=4"
            return 0
        fi
        rm -f "$tmp"
        rate=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = substr(r, length(r));
                                        if (u == "m" || u == "k") printf "%d%s", n / 2, u;
                                        else printf "%d", n / 2 }')
    done
    log "bulk: tcpdump or the network kept dropping packets; giving up"
    return 1
}

# nginx in the server namespace, pinned to the traffic CPU.
sth_nginx_start_pinned() {
    local rate=$1
    sth_nginx_start "$STH_NS_SRV" "$work/nginx" "$rate"
    if ((${#pin_traffic[@]})); then
        local pid
        for pid in $(ip netns pids "$STH_NS_SRV"); do  # master and worker
            taskset -a -p -c 0 "$pid" >/dev/null 2>&1 || true
        done
    fi
}

make_short() {
    setup_network
    command -v wrk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
    # wrk stops its (single) thread after SHORT_SESSIONS responses.
    cat >"$work/stop.lua" <<EOF
local done_count = 0
wrk.headers["Connection"] = "close"
response = function(status, headers, body)
    done_count = done_count + 1
    if done_count >= $SHORT_SESSIONS then wrk.thread:stop() end
end
EOF
    local conns=$SHORT_CONNECTIONS attempt
    for attempt in 1 2 3; do
        local t0 tmp="$work/short.pcap"
        t0=$(now)
        sth_nginx_stop
        sth_nginx_start_pinned 0
        start_tcpdump "$tmp"
        # wrk's main thread sleeps for the whole -d even after the Lua script stopped its
        # worker, so watch the server's accept counter and end wrk (SIGINT: it stops and
        # reports) once SHORT_SESSIONS sessions were accepted.
        local rc=0 opens0 deadline wrk_pid
        opens0=$(sth_ns_tcp_passive_opens "$STH_NS_SRV")
        "${pin_traffic[@]}" ip netns exec "$STH_NS_CLI" wrk -t1 -c "$conns" -d 100s \
            -s "$work/stop.lua" "http://$STH_SRV_IP/t" >"$work/wrk.out" 2>&1 &
        wrk_pid=$!
        deadline=$((SECONDS + 110))
        while kill -0 "$wrk_pid" 2>/dev/null && ((SECONDS < deadline)); do
            if (($(sth_ns_tcp_passive_opens "$STH_NS_SRV") - opens0 >= SHORT_SESSIONS)); then
                sleep 0.2
                break
            fi
            sleep 0.1
        done
        kill -INT "$wrk_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$wrk_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$wrk_pid" 2>/dev/null || true
        wait "$wrk_pid" || rc=$?
        sleep 0.5
        stop_tcpdump
        if ((rc)); then
            log "short: wrk failed ($rc): $(cat "$work/wrk.out")"
            return 1
        fi
        local secs requests
        secs=$(elapsed "$t0")
        requests=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
        log "short attempt $attempt: wrk -c $conns, $requests requests, $tcpdump_captured packets, $tcpdump_drops dropped by tcpdump, $link_drops dropped by the veths, $retrans retransmitted, ${secs} s"
        if [[ $tcpdump_drops -eq 0 && $link_drops -eq 0 ]]; then
            local syns
            syns=$(tcpdump -n -r "$tmp" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null | wc -l)
            install_capture short "$tmp" "made_in_s=$secs" "tcpdump_captured=$tcpdump_captured" \
                "tcpdump_dropped=$tcpdump_drops" "veth_dropped=$link_drops" "retransmitted_segments=$retrans" \
                "wrk_connections=$conns" \
                "wrk_requests=$requests" "syn_packets=$syns"
            return 0
        fi
        rm -f "$tmp"
        conns=$(((conns + 1) / 2))
    done
    log "short: tcpdump or the network kept dropping packets; giving up"
    return 1
}

make_concurrent() {
    if [[ ! -x $gen_concurrent ]]; then
        log "concurrent: $gen_concurrent not found (build with -DSTETHOSCOPE_BENCHMARKS=ON, make gen_concurrent)"
        return 1
    fi
    local t0 part="$outdir/.concurrent.pcap.partial" secs
    t0=$(now)
    "$gen_concurrent" "$part" "$CONCURRENT_SESSIONS" >&2
    mv -f "$part" "$outdir/concurrent.pcap"
    secs=$(elapsed "$t0")
    printf '%s\n' "made_in_s=$secs" "synthetic=gen_concurrent" "sessions=$CONCURRENT_SESSIONS" \
        >"$outdir/concurrent.pcap.info"
    log "concurrent.pcap: $(stat -c %s "$outdir/concurrent.pcap") bytes in ${secs} s"
}

status=0
if needed bulk; then make_bulk || status=1; fi
if needed short; then make_short || status=1; fi
# The network is not needed any more.
sth_nginx_stop
sth_ns_down
sth_backlog_restore
if needed concurrent; then make_concurrent || status=1; fi
exit $status
