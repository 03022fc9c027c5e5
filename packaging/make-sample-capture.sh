#!/usr/bin/env bash
# Regenerate config/sample-http.pcap: real curl <-> nginx traffic on loopback,
# captured with tcpdump. Needs root (capture on lo), nginx, curl, tcpdump, tshark
# (packaging/install-deps.sh installs them). Writes config/sample-http.pcap and
# config/sample-http.README.
#
# Three TCP sessions, in this order:
#   1. one curl process, keep-alive: GET /  then  GET /big.bin   (2 requests)
#   2. one curl process: POST /echo  body "name=stethoscope&x=1"
#   3. one curl process: GET /index.html
#
# usage: packaging/make-sample-capture.sh        (port: SAMPLE_PORT, default 18080)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
PORT="${SAMPLE_PORT:-18080}"
OUT="$ROOT/config/sample-http.pcap"
README="$ROOT/config/sample-http.README"
BASE="http://127.0.0.1:$PORT"

log() { printf 'make-sample-capture: %s\n' "$*"; }
die() { printf 'make-sample-capture: error: %s\n' "$*" >&2; exit 1; }

((EUID == 0)) || die "run as root (tcpdump must capture on lo)"
for tool in nginx curl tcpdump tshark ss perl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run packaging/install-deps.sh)"
done
# Nothing may use the port: neither a listener nor a leftover connection.
if [[ -n "$(ss -Htan exclude time-wait "( sport = :$PORT or dport = :$PORT )")" ]]; then
    die "port $PORT is in use; free it or set SAMPLE_PORT"
fi

TMP="$(mktemp -d /tmp/stethoscope-sample.XXXXXX)"
chmod 755 "$TMP" # nginx workers run as nobody and must read the docroot
NGINX_PID=""
TCPDUMP_PID=""
cleanup() {
    if [[ -n "$TCPDUMP_PID" ]]; then kill "$TCPDUMP_PID" 2>/dev/null || true; fi
    if [[ -n "$NGINX_PID" ]]; then kill "$NGINX_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# --- content ------------------------------------------------------------------
mkdir -p "$TMP/html"
{
    printf '<!DOCTYPE html>\n<html>\n<head><title>stethoscope sample</title></head>\n<body>\n'
    printf '<h1>stethoscope sample page</h1>\n'
    for i in $(seq 1 40); do
        printf '<p>Line %02d of the sample page served by nginx on loopback for the stethoscope demo.</p>\n' "$i"
    done
    printf '</body>\n</html>\n'
} >"$TMP/html/index.html"
# 20 KiB of deterministic pseudo-random bytes (every byte value occurs).
perl -e 'srand(20240601); print map { chr(int(rand(256))) } 1 .. 20480' >"$TMP/html/big.bin"
chmod 644 "$TMP/html/index.html" "$TMP/html/big.bin"

# --- nginx --------------------------------------------------------------------
# Temp paths only for the modules this nginx build has (unknown directives are errors).
temp_paths="client_body_temp_path $TMP/client_body;"
nginx_v="$(nginx -V 2>&1)"
for m in proxy fastcgi uwsgi scgi; do
    if grep -q -- "--http-$m-temp-path" <<<"$nginx_v" && ! grep -q -- "--without-http_${m}_module" <<<"$nginx_v"; then
        temp_paths+=$'\n'"    ${m}_temp_path $TMP/$m;"
    fi
done
cat >"$TMP/nginx.conf" <<NGINX
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log info;
events { worker_connections 64; }
http {
    access_log $TMP/access.log;
    $temp_paths
    default_type application/octet-stream;
    types { text/html html; }
    sendfile off;
    output_buffers 2 4k;
    keepalive_timeout 30s;
    server {
        listen 127.0.0.1:$PORT sndbuf=4k;
        server_name localhost;
        root $TMP/html;
        location /echo { return 200 "ok\n"; }
    }
}
NGINX
log "nginx -t"
nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" -t -q
log "start nginx on 127.0.0.1:$PORT"
nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" -g 'daemon off;' &
NGINX_PID=$!
for _ in $(seq 1 50); do
    curl -s -o /dev/null "$BASE/index.html" 2>/dev/null && break
    sleep 0.1
done
curl -sf -o /dev/null "$BASE/index.html" || die "nginx did not come up (see $TMP/error.log)"
sleep 0.5 # let the readiness probes' connections finish before capturing

# --- capture --------------------------------------------------------------------
log "start tcpdump -i lo -w ... -U 'tcp port $PORT'"
# -Z root: Debian's tcpdump otherwise drops to user tcpdump before writing.
tcpdump -i lo -w "$TMP/capture.pcap" -U -Z root "tcp port $PORT" 2>"$TMP/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 1 50); do
    grep -q 'listening on' "$TMP/tcpdump.err" && break
    sleep 0.1
done
grep -q 'listening on' "$TMP/tcpdump.err" || die "tcpdump did not start: $(cat "$TMP/tcpdump.err")"
sleep 0.5

log "session 1: GET / and GET /big.bin (keep-alive, one curl)"
curl -s "$BASE/" "$BASE/big.bin" -o /dev/null -o /dev/null
sleep 0.3
log "session 2: POST /echo"
curl -s -d 'name=stethoscope&x=1' "$BASE/echo" -o /dev/null
sleep 0.3
log "session 3: GET /index.html"
curl -s "$BASE/index.html" -o /dev/null
sleep 1 # the last FIN/ACK

log "stop tcpdump (SIGINT)"
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || die "tcpdump exited with an error: $(cat "$TMP/tcpdump.err")"
TCPDUMP_PID=""
sed 's/^/  /' "$TMP/tcpdump.err"
echo
grep -q '^0 packets dropped by kernel' "$TMP/tcpdump.err" || die "tcpdump dropped packets"
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=""

# --- checks ---------------------------------------------------------------------
# tshark as root warns on stderr about it; keep other messages.
tsh() {
    local rc=0
    tshark "$@" 2>"$TMP/tshark.err" || rc=$?
    grep -v '^Running as user "root"' "$TMP/tshark.err" >&2 || true
    return "$rc"
}
CAP="$TMP/capture.pcap"
tcpdump -nn -r "$CAP" >"$TMP/read.txt" 2>"$TMP/read.err" \
    || die "tcpdump -r failed: $(cat "$TMP/read.err")"
if grep -v '^reading from file' "$TMP/read.err"; then
    die "tcpdump -r reported problems"
fi
convs="$(tsh -r "$CAP" -q -z conv,tcp | grep -c '<->' || true)"
((convs == 3)) || die "expected 3 TCP conversations, got $convs"
syns="$(tsh -r "$CAP" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' | wc -l)"
((syns == 3)) || die "expected 3 SYNs, got $syns"
reqs="$(tsh -r "$CAP" -Y http.request | wc -l)"
((reqs == 4)) || die "expected 4 HTTP requests, got $reqs"
resps="$(tsh -r "$CAP" -Y http.response | wc -l)"
((resps == 4)) || die "expected 4 HTTP responses, got $resps"
fins="$(tsh -r "$CAP" -Y 'tcp.flags.fin == 1' | wc -l)"
((fins == 6)) || die "expected 6 FINs (both sides of 3 sessions), got $fins"
problems="$(tsh -r "$CAP" -Y 'tcp.analysis.flags && !tcp.analysis.window_update' | wc -l)"
((problems == 0)) || die "capture has $problems packets with TCP analysis flags"

cp "$CAP" "$OUT"
packets="$(wc -l <"$TMP/read.txt")"
size="$(stat -c %s "$OUT")"
log "wrote $OUT: $packets packets, $size bytes, $convs TCP sessions, $reqs HTTP requests"

# Per session: client port, payload bytes and data segments per direction.
# shellcheck disable=SC2016 # awk program
sessions="$(tsh -r "$OUT" -T fields -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.len \
    | awk -v port="$PORT" '
        { s = $1 + 1; if ($3 == port) { cport[s] = $2; rq[s] += $4; if ($4 > 0) rqn[s]++ }
          else { rs[s] += $4; if ($4 > 0) rsn[s]++ } }
        END { for (s = 1; s <= 3; s++)
                printf "  session %d: client port %s, requests %d bytes in %d segment(s), responses %d bytes in %d segment(s)\n",
                       s, cport[s], rq[s], rqn[s], rs[s], rsn[s] }')"
printf '%s\n' "$sessions"

# --- README ---------------------------------------------------------------------
{
    echo "config/sample-http.pcap: sample capture for the stethoscope demo (config/demo.json)."
    echo
    echo "Real traffic on Linux loopback (lo, link type EN10MB/Ethernet), classic pcap,"
    echo "microsecond timestamps, default snaplen (262144). curl (client) <-> nginx"
    echo "(server 127.0.0.1:$PORT). $packets packets, $size bytes, 3 TCP sessions, 4 HTTP requests;"
    echo "every session has the full handshake and a FIN close from both sides (client first),"
    echo "no loss, no retransmission, no truncation (caplen == len)."
    echo
    echo "Sessions, in order:"
    echo "  1. one curl, keep-alive: GET /  (index.html, $(stat -c %s "$TMP/html/index.html") bytes, text/html)"
    echo "     then GET /big.bin ($(stat -c %s "$TMP/html/big.bin") bytes of pseudo-random binary data,"
    echo "     application/octet-stream; the response spans several TCP segments)"
    printf '%s\n' '  2. one curl: POST /echo, body "name=stethoscope&x=1" (form-urlencoded), answer "ok\n"'
    echo "  3. one curl: GET /index.html"
    echo
    echo "Stream sizes (TCP payload bytes; requests = client -> server):"
    printf '%s\n' "$sessions"
    echo
    echo "sha256: $(sha256sum "$OUT" | cut -d' ' -f1)"
    echo
    echo "Made on $(date -u +%Y-%m-%d) by packaging/make-sample-capture.sh, run as root:"
    echo "  nginx -p TMP -c TMP/nginx.conf -g 'daemon off;'   with listen 127.0.0.1:$PORT sndbuf=4k;"
    printf '%s\n' '        sendfile off; output_buffers 2 4k; location /echo { return 200 "ok\n"; }'
    echo "        (the small send buffer makes nginx send big.bin in several segments)"
    echo "  tcpdump -i lo -w capture.pcap -U -Z root 'tcp port $PORT'"
    echo "  curl -s $BASE/ $BASE/big.bin -o /dev/null -o /dev/null"
    echo "  curl -s -d 'name=stethoscope&x=1' $BASE/echo -o /dev/null"
    echo "  curl -s $BASE/index.html -o /dev/null"
    echo "  tcpdump stopped with SIGINT (0 packets dropped); checked with tcpdump -r and"
    echo "  tshark (-z conv,tcp: 3 conversations; no tcp.analysis flags)."
    echo
    echo "Versions:"
    echo "  $(nginx -v 2>&1)"
    echo "  $(curl --version | head -n 1 | cut -d' ' -f1-4)"
    echo "  $(tcpdump --version 2>&1 | head -n 2 | paste -sd' ')"
    echo "  $(tsh --version | head -n 1)"
    echo "  Linux $(uname -r), $(grep -m1 '^PRETTY_NAME=' /etc/os-release | cut -d= -f2- | tr -d '"')"
    echo
    echo "Regenerate: sudo packaging/make-sample-capture.sh  (port: SAMPLE_PORT, default 18080)."
    echo "Timestamps, client ports, sequence numbers and segment sizes change on every run."
} >"$README"
log "wrote $README"
