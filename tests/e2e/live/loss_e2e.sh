#!/usr/bin/env bash
# loss_e2e.sh — live capture of curl <-> nginx with 1 % random packet loss on the path.
#
#   loss_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# Bridge topology (tests/tools/netns.sh `sth_ns_up 1`): curl in "cli" (198.18.1.1), nginx
# in "srv" (198.19.1.1:80), and between them the router namespace "br", whose nftables
# forward chain drops 1 % of the TCP packets at random (numgen random). The drops happen
# on the wire between the endpoints, so the senders' TCP stacks really retransmit and the
# receivers see holes (out-of-order arrivals) that the retransmissions fill later. A drop
# on the sender's own egress would not do that: its TCP would just send again, and a
# capture there would see no hole.
#
# Where the captured streams are complete: at an endpoint's own interface. There the
# capture sees every segment that endpoint sent (before any drop: originals and
# retransmissions) and every segment it received (after the drops: exactly what was
# delivered). TCP delivers every byte in the end, so each direction has every byte —
# holes only for a while, never gaps. Two instances, one per end: client mode on the
# client's sth0, server mode on the server's sth0; each must hold every stream byte for
# byte as curl's trace has it, with no gap, and count retransmissions
# (analysis.retransmission summed over the sessions > 0).
#
# Workload: as curl_nginx_e2e.sh with a 4 MiB download instead of 10 MiB (a keep-alive
# connection with 5 requests, four concurrent paced 1 MiB downloads, the 4 MiB download
# and a 1.2 MB POST). Also: the loss rule really dropped packets, final capture_stats
# without capture drops. Root only (SKIP otherwise).
set -u
source "$(dirname "$0")/lib.sh"
live_init loss "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 150

live_origin_up 1

live_config "$LIVE_WORK/client.json" "$LIVE_WORK/out-client" \
    "\"mode\": \"client\", \"local_ip\": \"$STH_CLI_IP\", \"remote_ip\": \"$STH_SRV_IP\", \"remote_port\": 80"
live_config "$LIVE_WORK/server.json" "$LIVE_WORK/out-server" \
    "\"mode\": \"server\", \"local_ip\": \"$STH_SRV_IP\", \"local_port\": 80"
live_sth_start client "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/client.json" || live_finish
live_sth_start server "$STH_NS_SRV" "$STH_NS_IF" "$LIVE_WORK/server.json" || live_finish

live_log "workload with $(sth_ns_exec br nft list table inet sth_loss | grep -o 'numgen.*drop') ($(live_elapsed)s)"
live_http_workload "http://$STH_SRV_IP" m4.bin
live_log "workload done ($(live_elapsed)s)"
dropped=$(sth_ns_loss_dropped)
if [[ ${dropped:-0} -gt 0 ]]; then
    live_pass "the loss rule dropped $dropped packets on the path"
else
    live_fail "the loss rule dropped no packet (${dropped:-no counter})"
fi
live_net_info

# With loss the last FIN/ACK may need a retransmission: up to 5 s for all to close.
live_sth_wait_sessions "${#LIVE_CURL_IDS[@]}" 5 "$LIVE_WORK/out-client" "$LIVE_WORK/out-server"
live_sth_stop client
live_sth_stop server
live_expect_clean_exit client
live_expect_clean_exit server

mapfile -t curl_args < <(live_curl_args "${LIVE_CURL_IDS[@]}")
refs=(--served /small.txt "$LIVE_WWW/small.txt" --served /k100.bin "$LIVE_WWW/k100.bin"
    --served /slow/m1.bin "$LIVE_WWW/m1.bin" --served /m4.bin "$LIVE_WWW/m4.bin"
    --sent-body /upload "$LIVE_WWW/post.bin")
for id in client server; do
    live_check "$id" "$LIVE_PYTHON" "$LIVE_CHECK" streams --label "$id" \
        --out "$LIVE_WORK/out-$id" --stdout "$LIVE_WORK/$id.stdout" \
        --client-ip "$STH_CLI_IP" --server "$STH_SRV_IP:80" "${curl_args[@]}" "${refs[@]}" \
        --reasons fin --min-retrans 1
done
live_log "done in $(live_elapsed)s"
live_finish
