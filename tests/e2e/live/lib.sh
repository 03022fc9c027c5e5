# shellcheck shell=bash
# lib.sh — shared helpers of the live-capture end-to-end tests (sourced, bash, Linux, root).
#
#   source "$(dirname "$0")/lib.sh"
#   live_init NAME STETHOSCOPE_BIN WORKDIR [TIME_LIMIT_SEC]
#       Prints "SKIP: <reason>" and exits 0 when not root. Otherwise: checks the tools,
#       makes WORKDIR afresh, gives this run namespaces of its own
#       (STH_NS_PREFIX=sthl<NAME><pid>, so parallel tests and other people's runs never
#       collide), installs the cleanup trap and a watchdog that ends the run after
#       TIME_LIMIT_SEC (default 120) with everything cleaned up.
#   live_sth_start ID NS IFACE CONFIG   runs stethoscope in NS on IFACE; waits for
#                                       "capturing on"; stdout/stderr in $LIVE_WORK/ID.*
#   live_sth_stop ID                    SIGINT, waits (max 15 s); sets LIVE_RC[ID]
#   live_sth_wait_sessions N SEC OUTDIR...  until each OUTDIR/sessions.ndjson has N lines
#   live_nginx_start NS DIR SERVERS LISTEN_IP PORT   own nginx (master + 1 worker) with
#                                       the http{} preamble below and SERVERS appended
#   live_curl ID ARGS...                curl in the client namespace with --trace
#                                       $LIVE_WORK/curl/ID.trace; every local port it
#                                       used is in $LIVE_WORK/curl/ID.port (one a line)
#   live_check NAME CMD...              runs a checker (livecheck.py) and counts its
#                                       PASS/FAIL lines
#   live_pass MSG / live_fail MSG       one result line each
#   live_finish                         prints "N passed, N failed", exits 0 or 1
#
# Environment: STH_LIVE_KEEP=1 keeps the payloads of a passing run (they are deleted
# otherwise; logs, configs, traces' small files and outputs under 256 KiB stay);
# PYTHON3 names the interpreter of livecheck.py (default python3).
#
# Every process this file starts is recorded by its pid and stopped by that pid in the
# cleanup; the namespaces are deleted (sth_ns_down also kills whatever still runs in
# them, all of it ours). Nothing listens or sends outside those namespaces.

LIVE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # used by the test scripts
LIVE_CHECK="$LIVE_DIR/livecheck.py"
LIVE_PASSED=0
LIVE_FAILED=0
declare -A LIVE_STH_PID=()
declare -A LIVE_RC=()
LIVE_NGINX_PIDS=()
LIVE_WATCHDOG_PID=
LIVE_CLEANED=0
LIVE_PYTHON=${PYTHON3:-python3}

live_pass() {
    LIVE_PASSED=$((LIVE_PASSED + 1))
    echo "PASS: $*"
}
live_fail() {
    LIVE_FAILED=$((LIVE_FAILED + 1))
    echo "FAIL: $*"
}
live_log() { echo "--- $*"; }

live_finish() {
    live_cleanup
    echo "$LIVE_PASSED passed, $LIVE_FAILED failed"
    if ((LIVE_FAILED == 0)) && [[ -z ${STH_LIVE_KEEP:-} ]]; then
        # Keep the logs and configs; drop the payloads (tens of MB) of a passing run.
        find "$LIVE_WORK" -type f -size +256k -delete 2>/dev/null || true
    fi
    ((LIVE_FAILED == 0)) && exit 0
    exit 1
}

live_cleanup() {
    ((LIVE_CLEANED)) && return 0
    LIVE_CLEANED=1
    local id pid
    for id in "${!LIVE_STH_PID[@]}"; do
        pid=${LIVE_STH_PID[$id]}
        [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${LIVE_NGINX_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${LIVE_NGINX_PIDS[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    sth_ns_down 2>/dev/null
    if [[ -n $LIVE_WATCHDOG_PID ]]; then
        kill "$LIVE_WATCHDOG_PID" 2>/dev/null
        wait "$LIVE_WATCHDOG_PID" 2>/dev/null
    fi
    return 0
}

live_on_signal() {
    live_fail "interrupted (time limit of ${LIVE_TIME_LIMIT}s or a signal)"
    live_cleanup
    echo "$LIVE_PASSED passed, $LIVE_FAILED failed"
    exit 1
}

live_init() {
    local name=$1 bin=$2 work=$3
    LIVE_TIME_LIMIT=${4:-120}
    if [[ $(id -u) -ne 0 ]]; then
        echo "SKIP: live capture test '$name' needs root (network namespaces, packet capture)"
        echo "0 passed, 0 failed"
        exit 0
    fi
    if [[ $(uname -s) != Linux ]]; then
        echo "SKIP: live capture test '$name' needs Linux network namespaces"
        echo "0 passed, 0 failed"
        exit 0
    fi
    STH_BIN=$(realpath -m "$bin")
    LIVE_WORK=$(realpath -m "$work")
    local tool missing=()
    for tool in ip nft ethtool ss curl nc nginx timeout "$LIVE_PYTHON"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        echo "FAIL: missing tools: ${missing[*]} (packaging/install-deps.sh, or apt-get install" \
            "iproute2 nftables ethtool curl netcat-openbsd nginx-light python3)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    if [[ ! -x $STH_BIN ]]; then
        echo "FAIL: no stethoscope binary at $STH_BIN"
        echo "0 passed, 1 failed"
        exit 1
    fi
    rm -rf "$LIVE_WORK" && mkdir -p "$LIVE_WORK/curl" || exit 1
    # shellcheck source=../../tools/netns.sh
    source "$LIVE_DIR/../../tools/netns.sh"
    STH_NS_PREFIX="sthl${name}$$"
    _sth_ns_names
    trap live_cleanup EXIT
    trap live_on_signal INT TERM HUP
    # The watchdog: its own sleep dies with it, and it holds no copy of our stdout (a
    # reader of the pipe, such as ctest, would otherwise wait for it).
    local main_pid=$$
    (
        trap 'kill "$sp" 2>/dev/null; exit 0' TERM
        sleep "$LIVE_TIME_LIMIT" &
        sp=$!
        wait "$sp" && kill -TERM "$main_pid" 2>/dev/null
    ) </dev/null >/dev/null 2>&1 &
    LIVE_WATCHDOG_PID=$!
    LIVE_T0=$(date +%s.%N)
}

# Seconds since live_init, 1 decimal.
live_elapsed() { awk -v a="$LIVE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# live_config FILE OUTDIR CAPTURE_JSON_MEMBERS: a config with only the files output.
live_config() {
    local file=$1 out=$2 capture=$3
    cat >"$file" <<EOF
{
  "capture": { $capture, "stats_interval_sec": 0 },
  "io": { "output": { "files": { "enabled": true, "dir": "$out" } } }
}
EOF
}

live_sth_start() {
    local id=$1 ns=$2 ifc=$3 cfg=$4
    ip netns exec "$ns" "$STH_BIN" -c "$cfg" -i "$ifc" \
        >"$LIVE_WORK/$id.stdout" 2>"$LIVE_WORK/$id.stderr" &
    local pid=$!
    LIVE_STH_PID[$id]=$pid
    local _i
    for _i in $(seq 1 100); do
        if grep -q 'capturing on' "$LIVE_WORK/$id.stderr" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    live_fail "$id: stethoscope did not start capturing: $(tr '\n' ' ' <"$LIVE_WORK/$id.stderr")"
    return 1
}

# live_sth_stop ID: SIGINT; LIVE_RC[ID] = exit code (or "hung" when it had to be killed).
live_sth_stop() {
    local id=$1 pid=${LIVE_STH_PID[$1]:-}
    [[ -n $pid ]] || return 0
    kill -INT "$pid" 2>/dev/null
    live_sth_reap "$id" 150
}

# live_sth_reap ID TENTHS: waits up to TENTHS/10 s for the process to end by itself.
live_sth_reap() {
    local id=$1 tenths=$2 pid=${LIVE_STH_PID[$1]:-} _i
    [[ -n $pid ]] || return 0
    for ((_i = 0; _i < tenths; _i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        LIVE_RC[$id]=hung
    else
        wait "$pid"
        LIVE_RC[$id]=$?
    fi
    LIVE_STH_PID[$id]=
}

live_sth_alive() {
    local pid=${LIVE_STH_PID[$1]:-}
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# live_expect_clean_exit ID: exit code 0 after SIGINT and no error line on stderr.
live_expect_clean_exit() {
    local id=$1
    if [[ ${LIVE_RC[$id]:-} == 0 ]]; then
        live_pass "$id: exit code 0 after SIGINT"
    else
        live_fail "$id: exit code ${LIVE_RC[$id]:-none} after SIGINT (want 0)"
    fi
    local errs
    errs=$(grep -E '^stethoscope: |^[^ ]+ (error|fatal) ' "$LIVE_WORK/$id.stderr")
    if [[ -z $errs ]]; then
        live_pass "$id: no error lines on stderr"
    else
        live_fail "$id: error lines on stderr: $errs"
    fi
}

# live_sth_wait_sessions N SECS OUTDIR...: until every OUTDIR/sessions.ndjson has N lines
# (at most SECS seconds); fails quietly otherwise.
live_sth_wait_sessions() {
    local want=$1 secs=$2 _i dir ok
    shift 2
    for ((_i = 0; ; _i++)); do
        ok=1
        for dir in "$@"; do
            (($(wc -l 2>/dev/null <"$dir/sessions.ndjson" || echo 0) >= want)) || ok=0
        done
        ((ok)) && return 0
        ((_i >= secs * 10)) && return 1
        sleep 0.1
    done
}

# live_wait_listen NS IP PORT: a listening socket exists (checked without connecting,
# so nothing reaches a capture that is already running).
live_wait_listen() {
    local ns=$1 ip=$2 port=$3 _i
    for _i in $(seq 1 100); do
        if ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q "$ip:$port"; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

live_nginx_start() {
    local ns=$1 dir=$2 servers=$3 ip=$4 port=$5
    mkdir -p "$dir/tmp" "$dir/logs"
    cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process on;
user root;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $dir/logs/access.log;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    keepalive_requests 10000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    types { application/octet-stream bin; text/plain txt; }
    default_type application/octet-stream;
$servers
}
NGINX
    ip netns exec "$ns" nginx -e "$dir/logs/error.log" -p "$dir" -c "$dir/nginx.conf" \
        >"$dir/logs/stdout" 2>&1 &
    LIVE_NGINX_PIDS+=($!)
    if ! live_wait_listen "$ns" "$ip" "$port"; then
        live_fail "nginx in $ns did not listen on $ip:$port:" \
            "$(cat "$dir/logs/error.log" "$dir/logs/stdout" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
}

# live_make_www DIR: the files the nginx servers serve (random bytes, except small.txt).
#   small.txt 1000 B text, k100.bin 100 KiB, m1.bin 1 MiB, m2.bin 2 MiB,
#   m4.bin 4 MiB, m10.bin 10 MiB, post.bin 1.2 MB (a request body, not served)
live_make_www() {
    local dir=$1
    mkdir -p "$dir"
    seq 1 1000 | head -c 1000 >"$dir/small.txt"
    head -c 102400 /dev/urandom >"$dir/k100.bin"
    head -c 1048576 /dev/urandom >"$dir/m1.bin"
    head -c 2097152 /dev/urandom >"$dir/m2.bin"
    head -c 4194304 /dev/urandom >"$dir/m4.bin"
    head -c 10485760 /dev/urandom >"$dir/m10.bin"
    head -c 1200000 /dev/urandom >"$dir/post.bin"
}

# live_curl ID ARGS...: one curl process in the client namespace, bounded in time,
# recording every byte it sent and received in $LIVE_WORK/curl/ID.trace.
live_curl() {
    local id=$1
    shift
    ip netns exec "$STH_NS_CLI" curl -sS --http1.1 --max-time 60 --connect-timeout 5 \
        --trace "$LIVE_WORK/curl/$id.trace" -w '%{local_port}\n' "$@" \
        >"$LIVE_WORK/curl/$id.port" 2>"$LIVE_WORK/curl/$id.stderr"
    local rc=$?
    echo "$rc" >"$LIVE_WORK/curl/$id.rc"
    return $rc
}

# live_curl_verdict ID...: one FAIL line per curl that did not exit 0 (live_curl may have
# run in a background subshell, so it only leaves its exit code in ID.rc).
live_curl_verdict() {
    local id rc
    for id in "$@"; do
        rc=$(cat "$LIVE_WORK/curl/$id.rc" 2>/dev/null || echo "none")
        if [[ $rc != 0 ]]; then
            live_fail "curl $id exited $rc: $(cat "$LIVE_WORK/curl/$id.stderr" 2>/dev/null)"
        fi
    done
}

# live_curl_args ID...: "--curl TRACE PORTFILE" arguments for livecheck.py.
live_curl_args() {
    local id
    for id in "$@"; do
        printf '%s\n' --curl "$LIVE_WORK/curl/$id.trace" "$LIVE_WORK/curl/$id.port"
    done
}

# The HTTP workload of the curl tests (client namespace -> BASE URL):
#   ka     one curl, HTTP/1.1 keep-alive, 5 requests on one connection (text, binary,
#          a 3-byte answer, a 404, text again)
#   par1..par4  four curl processes at once, each a rate-limited 1 MiB download
#          (/slow/ paces at 2 MB/s, so the four sessions really overlap in time)
#   big    a BIG download (m10.bin or m4.bin), at the same time as par*
#   post   a 1.2 MB POST body (curl sends Expect: 100-continue), at the same time too
# Sets LIVE_CURL_IDS.
live_http_workload() {
    local base=$1 big=$2 id pids=()
    LIVE_CURL_IDS=(ka par1 par2 par3 par4 big post)
    live_curl ka -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
        "$base/small.txt" "$base/k100.bin" "$base/t" "$base/nope" "$base/small.txt"
    for id in par1 par2 par3 par4; do
        live_curl "$id" -o /dev/null "$base/slow/m1.bin" &
        pids+=($!)
    done
    live_curl big -o /dev/null "$base/$big" &
    pids+=($!)
    live_curl post -o /dev/null --data-binary "@$LIVE_WWW/post.bin" \
        -H 'Content-Type: application/octet-stream' "$base/upload" &
    pids+=($!)
    local p
    for p in "${pids[@]}"; do wait "$p"; done
    live_curl_verdict "${LIVE_CURL_IDS[@]}"
}

# The origin server block of the curl tests: static files, /slow/ (paced), /t, /upload.
# /upload is proxied to a second server block on the namespace's loopback: nginx reads the
# whole request body before it answers (proxy_request_buffering), so the client never gets
# its answer in the middle of its upload. The loopback hop is not on the captured veth.
live_origin_servers() {
    local ip=$1 www=$2
    cat <<EOF
    server {
        listen $ip:80;
        root $www;
        client_max_body_size 16m;
        client_body_buffer_size 2m;
        location = /t { return 200 "ok\n"; }
        location /slow/ { alias $www/; limit_rate 2m; }
        location = /upload { proxy_pass http://127.0.0.1:8081/stored; }
    }
    server {
        listen 127.0.0.1:8081;
        client_max_body_size 16m;
        location / { return 200 "stored\n"; }
    }
EOF
}

# live_check NAME CMD...: runs a checker, echoes its output, counts its PASS/FAIL lines;
# a checker that fails without a FAIL line (a crash) counts as one failure.
live_check() {
    local name=$1
    shift
    local out rc p f
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(grep -c '^PASS' <<<"$out")
    f=$(grep -c '^FAIL' <<<"$out")
    LIVE_PASSED=$((LIVE_PASSED + p))
    LIVE_FAILED=$((LIVE_FAILED + f))
    if ((rc != 0 && f == 0)); then
        live_fail "$name: checker exited $rc without a verdict"
    fi
}

# live_net_info: what the kernels say about the run (for the log): TCP segments
# retransmitted per namespace, packets the veths dropped, and the loss rule's drops.
live_net_info() {
    local line
    line="kernel: RetransSegs cli $(sth_ns_tcp_retrans "$STH_NS_CLI"), srv $(sth_ns_tcp_retrans "$STH_NS_SRV")"
    [[ -n ${STH_NS_BR:-} ]] && line+=", br $(sth_ns_tcp_retrans "$STH_NS_BR"); loss rule dropped $(sth_ns_loss_dropped) packets"
    line+="; veth drops $(sth_ns_link_drops)"
    echo "info: $line"
}

# live_origin_up [LOSS]: namespaces (netns.sh, direct; or through the router dropping LOSS
# percent), LIVE_WWW filled with the test files, and an nginx serving them on
# $STH_SRV_IP:80 in the server namespace. Ends the test on failure.
live_origin_up() {
    # shellcheck disable=SC2119
    if ! sth_ns_up "$@" >"$LIVE_WORK/netns.log" 2>&1; then
        live_fail "network namespaces: $(cat "$LIVE_WORK/netns.log")"
        live_finish
    fi
    LIVE_WWW="$LIVE_WORK/www"
    live_make_www "$LIVE_WWW"
    live_nginx_start "$STH_NS_SRV" "$LIVE_WORK/nginx" "$(live_origin_servers "$STH_SRV_IP" "$LIVE_WWW")" \
        "$STH_SRV_IP" 80 || live_finish
}
