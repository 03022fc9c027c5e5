#!/usr/bin/env bash
# curl_nginx_e2e.sh — live capture of curl <-> nginx, byte for byte.
#
#   curl_nginx_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# Two namespaces joined by one veth (tests/tools/netns.sh, direct topology, MTU 1500, no
# segmentation offloads, transmit checksum offload on): curl in "cli" (198.18.0.1), nginx
# in "srv" (198.18.0.2:80). Two stethoscope instances capture the same traffic: client
# mode on the client's sth0 and filter mode ("tcp port 80") on the server's sth0. The
# workload (lib.sh live_http_workload): a
# keep-alive connection with 5 requests, four concurrent paced 1 MiB downloads, a 10 MiB
# download and a 1.2 MB POST at the same time.
#
# Reference: every curl runs with --trace, which holds exactly the bytes curl sent and
# received on its one connection; its local port (-w '%{local_port}') names the session
# folder. For every session, in both captures: requests.bin and responses.bin equal those
# bytes, sessions.ndjson has its session_closed (reason fin, no gaps, byte counts), and no
# other session exists. The references themselves are checked against the served files
# and the POST body. Also: at least 3 sessions open at once, and the final capture_stats
# (last on stdout) with dropped_kernel = dropped_queue_full = 0, and every session closed
# within 3 s of the last packet while the capture is still running (the engine's clock must
# move on without packets). Root only (SKIP otherwise).
set -u
source "$(dirname "$0")/lib.sh"
live_init curl "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 120

live_origin_up

live_config "$LIVE_WORK/client.json" "$LIVE_WORK/out-client" \
    "\"mode\": \"client\", \"local_ip\": \"$STH_CLI_IP\", \"remote_ip\": \"$STH_SRV_IP\", \"remote_port\": 80"
live_config "$LIVE_WORK/filter.json" "$LIVE_WORK/out-filter" \
    '"mode": "filter", "filter": "tcp port 80"'
live_sth_start client "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/client.json" || live_finish
live_sth_start filter "$STH_NS_SRV" "$STH_NS_IF" "$LIVE_WORK/filter.json" || live_finish

live_log "workload ($(live_elapsed)s)"
live_http_workload "http://$STH_SRV_IP" m10.bin
live_log "workload done ($(live_elapsed)s)"
live_net_info
# Every session ended with FIN from both sides: after fin_grace_sec (0.5 s) each must be
# closed and in sessions.ndjson while the capture still runs, though no packet follows.
n=${#LIVE_CURL_IDS[@]}
live_sth_wait_sessions "$n" 3 "$LIVE_WORK/out-client" "$LIVE_WORK/out-filter"
for id in client filter; do
    if live_sth_wait_sessions "$n" 0 "$LIVE_WORK/out-$id"; then
        live_pass "$id: all $n sessions closed within 3 s of the traffic's end, capture still running"
    else
        live_fail "$id: $(wc -l 2>/dev/null <"$LIVE_WORK/out-$id/sessions.ndjson" || echo 0) of $n sessions closed within 3 s of" \
            "the traffic's end (both FINs seen, fin_grace_sec 0.5; the rest only close at SIGINT)"
    fi
done
live_sth_stop client
live_sth_stop filter
live_expect_clean_exit client
live_expect_clean_exit filter

mapfile -t curl_args < <(live_curl_args "${LIVE_CURL_IDS[@]}")
refs=(--served /small.txt "$LIVE_WWW/small.txt" --served /k100.bin "$LIVE_WWW/k100.bin"
    --served /slow/m1.bin "$LIVE_WWW/m1.bin" --served /m10.bin "$LIVE_WWW/m10.bin"
    --sent-body /upload "$LIVE_WWW/post.bin")
for id in client filter; do
    live_check "$id" "$LIVE_PYTHON" "$LIVE_CHECK" streams --label "$id" \
        --out "$LIVE_WORK/out-$id" --stdout "$LIVE_WORK/$id.stdout" \
        --client-ip "$STH_CLI_IP" --server "$STH_SRV_IP:80" "${curl_args[@]}" "${refs[@]}" \
        --reasons fin --min-concurrent 3
done
live_log "done in $(live_elapsed)s"
live_finish
