# shellcheck shell=bash
# netns.sh — sourced bash helpers for test network namespaces (Linux, root).
#
#   source tests/tools/netns.sh
#   STH_NS_PREFIX=mytest          # optional; names the namespaces <prefix>-cli, -srv, -br
#   sth_ns_up                     # client <-> server over one veth pair
#   sth_ns_up 1                   # client <-> router "br" <-> server; the router drops 1 %
#                                 # of the forwarded TCP packets at random (0..100, decimals ok)
#   sth_ns_exec cli curl http://$STH_SRV_IP/
#   sth_ns_set_loss 2.5           # change the loss rate of a running bridge topology
#   sth_ns_down                   # deletes the namespaces (and with them every veth)
#
# Topology (every address in the benchmarking range 198.18.0.0/15, RFC 2544):
#   direct:  [cli] sth0 198.18.0.1/24 ======================= 198.18.0.2/24 sth0 [srv]
#   bridge:  [cli] sth0 198.18.1.1/24 == sthc [br] sths == 198.19.1.1/24 sth0 [srv]
#                                  198.18.1.254  198.19.1.254
#            The "bridge" namespace routes between the two links (ip_forward) and holds an
#            nftables table `sth_loss` whose forward chain drops
#            `meta l4proto tcp numgen random mod 10000 < N*100`.
# Every veth has MTU 1500 and TSO, GSO and GRO off (ethtool -K), so what is captured is
# MTU-sized segments as they crossed the wire. Transmit checksum offload stays on, as on
# users' hosts: a capture on a sender's veth holds Linux's partial checksums (the folded
# pseudo-header sum), which the decoder recognizes; a packet the kernel finishes in
# software (a retransmission, say) has a full one.
# IPv6 is disabled in the namespaces (no ND/MLD noise in captures).
#
# After sth_ns_up these are set: STH_NS_CLI STH_NS_SRV STH_NS_BR (empty in direct mode)
# STH_CLI_IP STH_SRV_IP STH_NS_IF (the interface name in cli and srv: sth0).
#
# Every function is idempotent: sth_ns_up on an existing topology of the same kind
# re-applies addresses, offloads and the loss rule; on one of the other kind it rebuilds.
# sth_ns_down on nothing does nothing. Callers should `trap sth_ns_down EXIT`.
#
# sth_backlog_raise VALUE / sth_backlog_restore: raise net.core.netdev_max_backlog (a
# host-wide setting) while capturing, and put the saved value back.

STH_NS_PREFIX=${STH_NS_PREFIX:-sth}
STH_NS_IF=sth0

_sth_ns_names() {
    STH_NS_CLI="${STH_NS_PREFIX}-cli"
    STH_NS_SRV="${STH_NS_PREFIX}-srv"
    _STH_NS_BR_NAME="${STH_NS_PREFIX}-br"
}
_sth_ns_names

_sth_ns_log() { echo "netns: $*" >&2; }

sth_ns_exists() { [[ -e "/var/run/netns/$1" ]]; }

# Installs ethtool if it is missing (Debian/Ubuntu).
sth_ns_require_tools() {
    local missing=()
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v nft >/dev/null 2>&1 || missing+=(nftables)
    command -v ethtool >/dev/null 2>&1 || missing+=(ethtool)
    if ((${#missing[@]})); then
        _sth_ns_log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null || return 1
    fi
    if [[ $(id -u) -ne 0 ]]; then
        _sth_ns_log "must run as root"
        return 1
    fi
}

# sth_ns_exec cli|srv|br|NAMESPACE CMD...
sth_ns_exec() {
    local ns=$1
    shift
    case $ns in
        cli) ns=$STH_NS_CLI ;;
        srv) ns=$STH_NS_SRV ;;
        br) ns=$_STH_NS_BR_NAME ;;
    esac
    ip netns exec "$ns" "$@"
}

_sth_ns_add() {
    local ns=$1
    if ! sth_ns_exists "$ns"; then
        ip netns add "$ns" || return 1
    fi
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

# _sth_ns_veth NS1 IF1 NS2 IF2: a veth pair between two namespaces (kept if it exists).
_sth_ns_veth() {
    local ns1=$1 if1=$2 ns2=$3 if2=$4
    if ! ip -n "$ns1" link show dev "$if1" >/dev/null 2>&1; then
        ip -n "$ns2" link del dev "$if2" >/dev/null 2>&1 || true
        ip -n "$ns1" link add name "$if1" mtu 1500 type veth peer name "$if2" mtu 1500 \
            netns "$ns2" || return 1
    fi
    _sth_ns_if_setup "$ns1" "$if1" && _sth_ns_if_setup "$ns2" "$if2"
}

_sth_ns_if_setup() {
    local ns=$1 dev=$2
    ip -n "$ns" link set dev "$dev" mtu 1500 up || return 1
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" >/dev/null 2>&1 || true
    ip netns exec "$ns" ethtool -K "$dev" tx on tso off gso off gro off >/dev/null 2>&1 ||
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off || return 1
    local feats
    feats=$(ip netns exec "$ns" ethtool -k "$dev" 2>/dev/null |
        grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):')
    if grep -q ': on' <<<"$feats"; then
        _sth_ns_log "offloads still on for $ns/$dev: $feats"
        return 1
    fi
    if ! ip netns exec "$ns" ethtool -k "$dev" 2>/dev/null | grep -q '^tx-checksumming: on'; then
        _sth_ns_log "transmit checksum offload is not on for $ns/$dev"
        return 1
    fi
}

# sth_ns_up [LOSS_PERCENT]: without an argument the direct topology, with one the bridge.
sth_ns_up() {
    sth_ns_require_tools || return 1
    _sth_ns_names
    local want_bridge=0 loss=${1-}
    [[ -n $loss ]] && want_bridge=1
    # The other kind of topology exists: start from scratch.
    if sth_ns_exists "$_STH_NS_BR_NAME" && ((!want_bridge)); then sth_ns_down; fi
    if ! sth_ns_exists "$_STH_NS_BR_NAME" && ((want_bridge)) && sth_ns_exists "$STH_NS_CLI"; then
        sth_ns_down
    fi
    _sth_ns_add "$STH_NS_CLI" && _sth_ns_add "$STH_NS_SRV" || return 1
    if ((want_bridge)); then
        STH_NS_BR=$_STH_NS_BR_NAME
        _sth_ns_add "$STH_NS_BR" || return 1
        _sth_ns_veth "$STH_NS_CLI" "$STH_NS_IF" "$STH_NS_BR" sthc || return 1
        _sth_ns_veth "$STH_NS_SRV" "$STH_NS_IF" "$STH_NS_BR" sths || return 1
        STH_CLI_IP=198.18.1.1
        STH_SRV_IP=198.19.1.1
        ip -n "$STH_NS_CLI" addr replace "$STH_CLI_IP/24" dev "$STH_NS_IF"
        ip -n "$STH_NS_BR" addr replace 198.18.1.254/24 dev sthc
        ip -n "$STH_NS_BR" addr replace 198.19.1.254/24 dev sths
        ip -n "$STH_NS_SRV" addr replace "$STH_SRV_IP/24" dev "$STH_NS_IF"
        ip -n "$STH_NS_CLI" route replace default via 198.18.1.254 dev "$STH_NS_IF"
        ip -n "$STH_NS_SRV" route replace default via 198.19.1.254 dev "$STH_NS_IF"
        ip netns exec "$STH_NS_BR" sysctl -qw net.ipv4.ip_forward=1 >/dev/null || return 1
        sth_ns_set_loss "$loss" || return 1
    else
        STH_NS_BR=
        _sth_ns_veth "$STH_NS_CLI" "$STH_NS_IF" "$STH_NS_SRV" "$STH_NS_IF" || return 1
        STH_CLI_IP=198.18.0.1
        STH_SRV_IP=198.18.0.2
        ip -n "$STH_NS_CLI" addr replace "$STH_CLI_IP/24" dev "$STH_NS_IF"
        ip -n "$STH_NS_SRV" addr replace "$STH_SRV_IP/24" dev "$STH_NS_IF"
    fi
    export STH_NS_CLI STH_NS_SRV STH_NS_BR STH_CLI_IP STH_SRV_IP STH_NS_IF
    # Wait until every veth is operationally up (they come up asynchronously). There is
    # no ping here; the callers' first HTTP request proves the path.
    local _i ns dev ok
    for _i in $(seq 1 50); do
        ok=1
        for ns in "$STH_NS_CLI" "$STH_NS_SRV" ${STH_NS_BR:+"$STH_NS_BR"}; do
            for dev in $(ip -n "$ns" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
                [[ $(ip netns exec "$ns" cat "/sys/class/net/$dev/operstate") == up ]] || ok=0
            done
        done
        ((ok)) && return 0
        sleep 0.1
    done
    _sth_ns_log "veths did not come up"
    return 1
}

# sth_ns_set_loss PERCENT: (re)writes the drop rule in the bridge namespace.
sth_ns_set_loss() {
    local pct=$1
    _sth_ns_names
    if ! sth_ns_exists "$_STH_NS_BR_NAME"; then
        _sth_ns_log "no bridge namespace $_STH_NS_BR_NAME"
        return 1
    fi
    local per10k
    per10k=$(awk -v p="$pct" 'BEGIN { if (p !~ /^[0-9]+(\.[0-9]+)?$/ || p > 100) exit 1;
                                      printf "%d", p * 100 + 0.5 }') || {
        _sth_ns_log "loss must be a percentage 0..100, got '$pct'"
        return 1
    }
    ip netns exec "$_STH_NS_BR_NAME" nft delete table inet sth_loss >/dev/null 2>&1 || true
    ip netns exec "$_STH_NS_BR_NAME" nft -f - <<EOF || return 1
table inet sth_loss {
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta l4proto tcp numgen random mod 10000 < $per10k counter drop
    }
}
EOF
    export STH_NS_LOSS=$pct
}

# Packets dropped so far by the loss rule.
sth_ns_loss_dropped() {
    ip netns exec "$_STH_NS_BR_NAME" nft list table inet sth_loss 2>/dev/null |
        sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'
}

sth_ns_down() {
    _sth_ns_names
    local ns
    for ns in "$STH_NS_CLI" "$STH_NS_SRV" "$_STH_NS_BR_NAME"; do
        if sth_ns_exists "$ns"; then
            # Processes still running inside keep nothing alive (the netns is unlinked),
            # but kill ours so nothing lingers.
            local pids=()
            mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
            if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; fi
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    STH_NS_BR=
}

_STH_SAVED_BACKLOG=
sth_backlog_raise() {
    local value=${1:-300000}
    [[ -z $_STH_SAVED_BACKLOG ]] && _STH_SAVED_BACKLOG=$(sysctl -n net.core.netdev_max_backlog)
    sysctl -qw net.core.netdev_max_backlog="$value" >/dev/null
}
sth_backlog_restore() {
    if [[ -n $_STH_SAVED_BACKLOG ]]; then
        sysctl -qw net.core.netdev_max_backlog="$_STH_SAVED_BACKLOG" >/dev/null
        _STH_SAVED_BACKLOG=
    fi
}

# sth_tcpdump_drops STDERR_FILE: "dropped by kernel" + "dropped by interface" from
# tcpdump's exit summary; prints nothing (and fails) when the summary is missing.
sth_tcpdump_drops() {
    awk '/packets dropped by kernel/ { k = $1; seen = 1 }
         /packets dropped by interface/ { i = $1 }
         END { if (!seen) exit 1; print k + i }' "$1"
}

# sth_tcpdump_captured STDERR_FILE: "N packets captured".
sth_tcpdump_captured() {
    awk '/packets captured/ { print $1 }' "$1"
}

# sth_tcpdump_stop PID: SIGINT and wait (tcpdump flushes and prints its summary).
sth_tcpdump_stop() {
    local pid=$1 _
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}

# sth_tcpdump_wait_ready STDERR_FILE: waits for "listening on" (max 5 s).
sth_tcpdump_wait_ready() {
    local _i
    for _i in $(seq 1 50); do
        grep -q 'listening on' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    _sth_ns_log "tcpdump did not start: $(cat "$1")"
    return 1
}

# sth_nginx_start NS WORKDIR [LIMIT_RATE] [LISTEN_IP]: runs nginx (master + 1 worker,
# in the foreground of a background job) in namespace NS, serving WORKDIR/www on port 80.
# Locations: / static files (keep-alive, sendfile), /upload accepts a POST of up to 2 GiB
# and discards it, /t answers a 3-byte body. LIMIT_RATE paces every response (nginx
# `limit_rate`, bytes/s, "0" = unlimited, suffixes k/m allowed). Sets STH_NGINX_PID.
sth_nginx_start() {
    local ns=$1 dir=$2 rate=${3:-0} listen=${4:-$STH_SRV_IP}
    command -v nginx >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light >/dev/null || return 1
    }
    mkdir -p "$dir/www" "$dir/tmp" "$dir/logs"
    cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process on;
user root;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    types { application/octet-stream bin; text/plain txt; }
    default_type application/octet-stream;
    server {
        listen $listen:80 backlog=65535;
        root $dir/www;
        limit_rate $rate;
        location = /t { return 200 "ok\n"; }
        location = /upload {
            client_max_body_size 2g;
            client_body_buffer_size 1m;
            client_body_in_file_only off;
            return 200 "ok\n";
        }
    }
}
NGINX
    ip netns exec "$ns" nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/logs/stdout" 2>&1 &
    STH_NGINX_PID=$!
    local _i
    for _i in $(seq 1 50); do
        if ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/$listen/80" 2>/dev/null; then
            return 0
        fi
        kill -0 "$STH_NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    _sth_ns_log "nginx did not start: $(cat "$dir/logs/error.log" "$dir/logs/stdout" 2>/dev/null)"
    return 1
}

sth_nginx_stop() {
    [[ -n ${STH_NGINX_PID:-} ]] || return 0
    kill -TERM "$STH_NGINX_PID" 2>/dev/null || true
    local _i
    for _i in $(seq 1 50); do
        kill -0 "$STH_NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$STH_NGINX_PID" 2>/dev/null || true
    wait "$STH_NGINX_PID" 2>/dev/null || true
    STH_NGINX_PID=
}

# sth_ns_tcp_retrans NS: the namespace's TCP RetransSegs counter (/proc/net/snmp).
sth_ns_tcp_retrans() {
    ip netns exec "$1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 }
                                       else print $col["RetransSegs"] }' /proc/net/snmp
}

# sth_ns_tcp_passive_opens NS: connections accepted so far (/proc/net/snmp PassiveOpens).
sth_ns_tcp_passive_opens() {
    ip netns exec "$1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 }
                                       else print $col["PassiveOpens"] }' /proc/net/snmp
}

# sth_ns_link_drops: packets the veths dropped (rx_dropped + tx_dropped of every veth in
# the topology, e.g. a full backlog queue): real network loss, unlike TCP retransmission
# counters, which also count tail loss probes and other spurious retransmissions.
sth_ns_link_drops() {
    local total=0 ns dev n
    for ns in "$STH_NS_CLI" "$STH_NS_SRV" ${STH_NS_BR:+"$STH_NS_BR"}; do
        for dev in $(ip -n "$ns" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
            n=$(ip netns exec "$ns" cat "/sys/class/net/$dev/statistics/rx_dropped" \
                "/sys/class/net/$dev/statistics/tx_dropped" | awk '{ s += $1 } END { print s + 0 }')
            total=$((total + n))
        done
    done
    echo "$total"
}
