#!/usr/bin/env bash
# nc_bidir_e2e.sh — live capture of a raw TCP session carrying data both ways at once,
# with a half-close in the middle, byte for byte.
#
#   nc_bidir_e2e.sh STETHOSCOPE_BIN WORKDIR
#
# Direct topology (tests/tools/netns.sh). The server `nc -N -l` sends 2 MiB of random
# bytes (b.bin) and, at the end of it, half-closes (shutdown SHUT_WR: FIN) while it keeps
# reading. The client `nc -N` sends 3 MiB of random bytes (a.bin) from the start, so both
# directions run at once: 1 MiB, a 1 s pause, the other 2 MiB — by then the server has
# sent its FIN (checked: its socket is in FIN-WAIT-2, the client's in CLOSE-WAIT), so the
# last 2 MiB travel on a half-closed connection — then its own FIN. (OpenBSD nc -l quits
# as soon as its peer's FIN arrives, so the half-closing side must be the listener.)
#
# Captured twice: client mode on the client's sth0, server mode on the server's sth0.
# Each endpoint's received file must equal what the other sent; requests.bin must equal
# a.bin (= what the server received) and responses.bin b.bin (= what the client received),
# one session, closed by FIN without gaps, final capture_stats without drops.
# Root only (SKIP otherwise).
# shellcheck disable=SC2119  # sth_ns_up takes an optional loss rate, not our $1
set -u
source "$(dirname "$0")/lib.sh"
live_init nc "${1:?usage: $0 STETHOSCOPE_BIN WORKDIR}" "${2:?usage: $0 STETHOSCOPE_BIN WORKDIR}" 90

if ! sth_ns_up >"$LIVE_WORK/netns.log" 2>&1; then
    live_fail "network namespaces: $(cat "$LIVE_WORK/netns.log")"
    live_finish
fi
d=$LIVE_WORK/data
mkdir -p "$d"
head -c 3145728 /dev/urandom >"$d/a.bin"  # client -> server
head -c 2097152 /dev/urandom >"$d/b.bin"  # server -> client
port=5000
cport=40001  # the namespaces are this run's own: a fixed client port collides with nothing

live_config "$LIVE_WORK/client.json" "$LIVE_WORK/out-client" \
    "\"mode\": \"client\", \"local_ip\": \"$STH_CLI_IP\", \"remote_ip\": \"$STH_SRV_IP\", \"remote_port\": $port"
live_config "$LIVE_WORK/server.json" "$LIVE_WORK/out-server" \
    "\"mode\": \"server\", \"local_ip\": \"$STH_SRV_IP\", \"local_port\": $port"
live_sth_start client "$STH_NS_CLI" "$STH_NS_IF" "$LIVE_WORK/client.json" || live_finish
live_sth_start server "$STH_NS_SRV" "$STH_NS_IF" "$LIVE_WORK/server.json" || live_finish

ip netns exec "$STH_NS_SRV" timeout 30 nc -N -l "$STH_SRV_IP" "$port" \
    <"$d/b.bin" >"$d/srv_recv.bin" 2>"$LIVE_WORK/nc-server.stderr" &
srv_pid=$!
if ! live_wait_listen "$STH_NS_SRV" "$STH_SRV_IP" "$port"; then
    live_fail "nc -l did not listen: $(cat "$LIVE_WORK/nc-server.stderr")"
    live_finish
fi
live_log "transfer ($(live_elapsed)s)"
{
    head -c 1048576 "$d/a.bin"
    sleep 1
    tail -c +1048577 "$d/a.bin"
} | ip netns exec "$STH_NS_CLI" timeout 30 nc -N -p "$cport" "$STH_SRV_IP" "$port" \
    >"$d/cli_recv.bin" 2>"$LIVE_WORK/nc-client.stderr" &
cli_pid=$!
# In the pause: the server has sent everything and its FIN; the client has not.
for _ in $(seq 1 16); do
    sleep 0.05
    srv_state=$(ip netns exec "$STH_NS_SRV" ss -Htn "sport = :$port" | awk '{ print $1 }' | sort -u | tr '\n' ' ')
    cli_state=$(ip netns exec "$STH_NS_CLI" ss -Htn "dport = :$port" | awk '{ print $1 }' | sort -u | tr '\n' ' ')
    [[ $srv_state == "FIN-WAIT-2 " && $cli_state == "CLOSE-WAIT " ]] && break
done
wait "$cli_pid"
cli_rc=$?
wait "$srv_pid"
srv_rc=$?
live_log "transfer done ($(live_elapsed)s)"
if [[ $srv_state == "FIN-WAIT-2 " && $cli_state == "CLOSE-WAIT " ]]; then
    live_pass "half-close in effect mid-transfer: server socket FIN-WAIT-2, client CLOSE-WAIT"
else
    live_fail "mid-transfer socket states: server '$srv_state', client '$cli_state'" \
        "(want FIN-WAIT-2 / CLOSE-WAIT)"
fi
if ((cli_rc == 0 && srv_rc == 0)) && cmp -s "$d/a.bin" "$d/srv_recv.bin" &&
    cmp -s "$d/b.bin" "$d/cli_recv.bin"; then
    live_pass "endpoints: each received exactly what the other sent (3 MiB up, 2 MiB down)"
else
    live_fail "endpoints: nc exit codes client $cli_rc server $srv_rc;" \
        "received $(stat -c %s "$d/srv_recv.bin") / $(stat -c %s "$d/cli_recv.bin") bytes" \
        "$(cat "$LIVE_WORK/nc-client.stderr" "$LIVE_WORK/nc-server.stderr")"
fi

# Both FINs seen: the session closes after fin_grace_sec (0.5 s); give it 3 s, then stop
# (a session still open is closed by the shutdown, and its reason says so).
live_sth_wait_sessions 1 3 "$LIVE_WORK/out-client" "$LIVE_WORK/out-server"
live_sth_stop client
live_sth_stop server
live_expect_clean_exit client
live_expect_clean_exit server
live_net_info
for id in client server; do
    live_check "$id" "$LIVE_PYTHON" "$LIVE_CHECK" streams --label "$id" \
        --out "$LIVE_WORK/out-$id" --stdout "$LIVE_WORK/$id.stdout" \
        --client-ip "$STH_CLI_IP" --server "$STH_SRV_IP:$port" \
        --session "$STH_CLI_IP:$cport" "$STH_SRV_IP:$port" "$d/a.bin" "$d/b.bin" --reasons fin
done
live_log "done in $(live_elapsed)s"
live_finish
