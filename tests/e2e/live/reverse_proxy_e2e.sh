#!/usr/bin/env bash
# reverse_proxy_e2e.sh — live capture on both sides of an nginx reverse proxy.
#
#   reverse_proxy_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# Three namespaces (tests/tools/netns.sh bridge topology, loss 0): curl in "cli"
# (198.18.1.1), the proxy nginx in the middle namespace "br" on 198.18.1.254:80, the
# origin nginx in "srv" (198.19.1.1:80); the proxy talks to the origin from 198.19.1.254.
# Two stethoscope instances run in "br", one per interface:
#   front     server mode on sthc (local 198.18.1.254:80): the client-facing sessions;
#   upstream  client mode on sths (local 198.19.1.254, remote 198.19.1.1:80): the
#             sessions nginx opens to the origin.
# Workload: one curl with three requests on a keep-alive connection, one more curl at the
# same time.
#
# Front side: byte for byte against the curl traces (as in curl_nginx_e2e.sh).
# Upstream side: nobody but the wire records the proxy's own requests — nginx writes them
# itself (HTTP/1.0, Host: the upstream, Connection: close, one connection per request, the
# client's other headers passed on). So each captured upstream session is checked for
# what it must be: a complete GET of the path a front request asked for, carrying curl's
# User-Agent (passed on by the proxy), exactly one upstream request per front request; the
# captured response is a complete 200 whose body is byte for byte the file the origin
# served, with the Content-Length, ETag and Last-Modified the front side received; each
# session closed by FIN without gaps, and the final capture_stats without drops.
# Root only (SKIP otherwise).
# shellcheck disable=SC2119  # sth_ns_up takes an optional loss rate, not our $1
set -u
source "$(dirname "$0")/lib.sh"
live_init proxy "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 90

if ! sth_ns_up 0 >"$LIVE_WORK/netns.log" 2>&1; then
    live_fail "network namespaces: $(cat "$LIVE_WORK/netns.log")"
    live_finish
fi
proxy_front=198.18.1.254  # netns.sh: the router's address on the client link (sthc)
proxy_back=198.19.1.254   # ... and on the server link (sths)
LIVE_WWW="$LIVE_WORK/www"
live_make_www "$LIVE_WWW"
live_nginx_start "$STH_NS_SRV" "$LIVE_WORK/origin" "$(live_origin_servers "$STH_SRV_IP" "$LIVE_WWW")" \
    "$STH_SRV_IP" 80 || live_finish
live_nginx_start "$STH_NS_BR" "$LIVE_WORK/proxy" "
    server {
        listen $proxy_front:80;
        location / { proxy_pass http://$STH_SRV_IP:80; }
    }" "$proxy_front" 80 || live_finish

live_config "$LIVE_WORK/front.json" "$LIVE_WORK/out-front" \
    "\"mode\": \"server\", \"local_ip\": \"$proxy_front\", \"local_port\": 80"
live_config "$LIVE_WORK/upstream.json" "$LIVE_WORK/out-upstream" \
    "\"mode\": \"client\", \"local_ip\": \"$proxy_back\", \"remote_ip\": \"$STH_SRV_IP\", \"remote_port\": 80"
live_sth_start front "$STH_NS_BR" sthc "$LIVE_WORK/front.json" || live_finish
live_sth_start upstream "$STH_NS_BR" sths "$LIVE_WORK/upstream.json" || live_finish

live_log "workload ($(live_elapsed)s)"
base="http://$proxy_front"
live_curl ka -o /dev/null -o /dev/null -o /dev/null \
    "$base/small.txt" "$base/m2.bin" "$base/k100.bin" &
p1=$!
live_curl big -o /dev/null "$base/m4.bin" &
p2=$!
wait "$p1" "$p2"
live_curl_verdict ka big
live_log "workload done ($(live_elapsed)s)"

# 2 front sessions, 4 upstream ones; all end with both FINs.
live_sth_wait_sessions 2 3 "$LIVE_WORK/out-front"
live_sth_wait_sessions 4 1 "$LIVE_WORK/out-upstream"
live_sth_stop front
live_sth_stop upstream
live_expect_clean_exit front
live_expect_clean_exit upstream
live_net_info

served=(--served /small.txt "$LIVE_WWW/small.txt" --served /k100.bin "$LIVE_WWW/k100.bin"
    --served /m2.bin "$LIVE_WWW/m2.bin" --served /m4.bin "$LIVE_WWW/m4.bin")
mapfile -t curl_args < <(live_curl_args ka big)
live_check front "$LIVE_PYTHON" "$LIVE_CHECK" streams --label front \
    --out "$LIVE_WORK/out-front" --stdout "$LIVE_WORK/front.stdout" \
    --client-ip "$STH_CLI_IP" --server "$proxy_front:80" "${curl_args[@]}" "${served[@]}" \
    --reasons fin
live_check upstream "$LIVE_PYTHON" "$LIVE_CHECK" upstream --label upstream \
    --out "$LIVE_WORK/out-upstream" --stdout "$LIVE_WORK/upstream.stdout" \
    --client-ip "$proxy_back" --server "$STH_SRV_IP:80" \
    --front-curl "$LIVE_WORK/curl/ka.trace" "$LIVE_WORK/curl/ka.port" \
    --front-curl "$LIVE_WORK/curl/big.trace" "$LIVE_WORK/curl/big.port" "${served[@]}"
live_log "done in $(live_elapsed)s"
live_finish
