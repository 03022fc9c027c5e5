#!/usr/bin/env bash
# iface_down_e2e.sh — the captured interface goes down or away during a live capture.
#
#   iface_down_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# Direct topology (tests/tools/netns.sh), nginx in "srv", stethoscope in filter mode
# ("tcp port 80") on the client's sth0, curl in "cli". Two cases, one stethoscope each:
#
# 1. "down": `ip link set sth0 down` on the captured interface, later `up` again.
#    libpcap 1.10.3 (Debian 12) reports no error for a device that still exists but is
#    down, so pcap-live checks the interface's flags (pcap_findalldevs) once a second and
#    ends the run when it is down: this case expects what case 2 expects (the default,
#    STH_LIVE_DOWN_EXPECT=exit). STH_LIVE_DOWN_EXPECT=continue asserts the older
#    behaviour instead (still running 2 s after the down, exit 0 on SIGINT).
# 2. "gone": the veth is deleted (`ip link del sth0`, which takes its peer with it) while
#    a paced download is in the middle of its transfer. libpcap reports "The interface
#    disappeared" and stethoscope must end by itself (within 5 s) with exactly one error
#    line on stderr (`stethoscope: ...` naming sth0), exit code 4, every output flushed:
#    sessions.ndjson holds both sessions — the finished one byte for byte as curl's trace
#    has it, the cut one with the request byte for byte and a response that is a prefix
#    of what nginx was sending (header + file) and holds at least all curl received —
#    and the final capture_stats is the last line on stdout, without drops.
# Root only (SKIP otherwise).
# shellcheck disable=SC2119  # sth_ns_up takes an optional loss rate, not our $1
set -u
source "$(dirname "$0")/lib.sh"
live_init down "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 90
down_expect=${STH_LIVE_DOWN_EXPECT:-exit}

live_origin_up
base="http://$STH_SRV_IP"
served=(--served /small.txt "$LIVE_WWW/small.txt" --served /k100.bin "$LIVE_WWW/k100.bin")

# expect_input_error ID SECONDS_ALLOWED: the instance ended by itself with exit code 4 and
# one error line naming the interface.
expect_input_error() {
    local id=$1 limit=$2 t0 t1
    t0=$(date +%s.%N)
    live_sth_reap "$id" $((limit * 10))
    t1=$(date +%s.%N)
    local took
    took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if [[ ${LIVE_RC[$id]} == hung ]]; then
        live_fail "$id: still running ${limit}s after the interface went away (killed)"
    elif [[ ${LIVE_RC[$id]} == 4 ]]; then
        live_pass "$id: ended by itself ${took}s after the interface went away, exit code 4"
    else
        live_fail "$id: ended by itself after ${took}s with exit code ${LIVE_RC[$id]} (want 4)"
    fi
    local errs n
    errs=$(grep -E '^stethoscope: ' "$LIVE_WORK/$id.stderr")
    n=$(grep -cE '^stethoscope: |^[^ ]+ (error|fatal) ' "$LIVE_WORK/$id.stderr")
    if ((n == 1)) && grep -q "$STH_NS_IF" <<<"$errs"; then
        live_pass "$id: one error line on stderr: $errs"
    else
        live_fail "$id: want one 'stethoscope: ' error line naming $STH_NS_IF, got $n:" \
            "$(grep -E '^stethoscope: |^[^ ]+ (error|fatal|warning) ' "$LIVE_WORK/$id.stderr" | tr '\n' '|')"
    fi
}

# --- case 1: the captured interface is set down, then up again ---------------------------
live_log "case down (expect: $down_expect) ($(live_elapsed)s)"
live_config "$LIVE_WORK/down.json" "$LIVE_WORK/out-down" '"mode": "filter", "filter": "tcp port 80"'
live_sth_start down "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/down.json" || live_finish
live_curl before -o /dev/null -o /dev/null "$base/small.txt" "$base/k100.bin"
live_curl_verdict before
mapfile -t before_args < <(live_curl_args before)
mapfile -t after_args < <(live_curl_args after)
sleep 0.3
ip -n "$STH_NS_CLI" link set dev "$STH_NS_IF" down
if [[ $down_expect == exit ]]; then
    expect_input_error down 5
    live_check down "$LIVE_PYTHON" "$LIVE_CHECK" streams --label down \
        --out "$LIVE_WORK/out-down" --stdout "$LIVE_WORK/down.stdout" \
        --client-ip "$STH_CLI_IP" --server "$STH_SRV_IP:80" \
        "${before_args[@]}" "${served[@]}" --reasons fin,end_of_input
    sth_ns_up >>"$LIVE_WORK/netns.log" 2>&1 || live_fail "cannot bring the interface up again"
else
    sleep 2
    if live_sth_alive down; then
        live_pass "down: still capturing 2 s after its interface was set down (libpcap: not an error)"
    else
        live_sth_reap down 1
        live_fail "down: ended ${LIVE_RC[down]} after its interface was set down:" \
            "$(grep -E '^stethoscope: ' "$LIVE_WORK/down.stderr")" \
            "(STH_LIVE_DOWN_EXPECT=exit expects this)"
    fi
    # Up again (sth_ns_up re-applies the link state, addresses and offloads, and waits
    # for operstate up); the capture must see the next session.
    sth_ns_up >>"$LIVE_WORK/netns.log" 2>&1 || live_fail "cannot bring the interface up again"
    live_curl after -o /dev/null "$base/small.txt"
    live_curl_verdict after
    live_sth_wait_sessions 2 3 "$LIVE_WORK/out-down"
    live_sth_stop down
    live_expect_clean_exit down
    live_check down "$LIVE_PYTHON" "$LIVE_CHECK" streams --label down \
        --out "$LIVE_WORK/out-down" --stdout "$LIVE_WORK/down.stdout" \
        --client-ip "$STH_CLI_IP" --server "$STH_SRV_IP:80" \
        "${before_args[@]}" "${after_args[@]}" "${served[@]}" --reasons fin
fi

# --- case 2: the captured interface is deleted in the middle of a transfer ---------------
live_log "case gone ($(live_elapsed)s)"
live_config "$LIVE_WORK/gone.json" "$LIVE_WORK/out-gone" '"mode": "filter", "filter": "tcp port 80"'
live_sth_start gone "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/gone.json" || live_finish
live_curl finished -o /dev/null -o /dev/null "$base/small.txt" "$base/k100.bin"
live_curl_verdict finished
mapfile -t finished_args < <(live_curl_args finished)
# /slow/ paces at 2 MB/s: 10 MiB would take 5 s; curl gives up 3 s after it started.
live_curl cut -o /dev/null --max-time 3 "$base/slow/m10.bin" &
cut_pid=$!
sleep 1
ip -n "$STH_NS_CLI" link del dev "$STH_NS_IF"
live_log "deleted $STH_NS_IF ($(live_elapsed)s)"
expect_input_error gone 5
wait "$cut_pid"
live_log "curl cut exited $(cat "$LIVE_WORK/curl/cut.rc") (28: time limit, as the link is gone)"
live_check gone "$LIVE_PYTHON" "$LIVE_CHECK" streams --label gone \
    --out "$LIVE_WORK/out-gone" --stdout "$LIVE_WORK/gone.stdout" \
    --client-ip "$STH_CLI_IP" --server "$STH_SRV_IP:80" \
    "${finished_args[@]}" "${served[@]}" \
    --partial-curl "$LIVE_WORK/curl/cut.trace" "$LIVE_WORK/curl/cut.port" "$LIVE_WWW/m10.bin" \
    --reasons fin
live_log "done in $(live_elapsed)s"
live_finish
