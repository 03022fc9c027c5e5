#!/usr/bin/env bash
# The stethoscope command line, end to end on the real binary and plugins: options,
# every shipped config, and one broken input per error class (exact stderr line and
# exit code). Usage: cli_e2e.sh STETHOSCOPE SOURCE_DIR TEST_PLUGIN_DIR WORKDIR
set -u
bin=$1 src=$2 test_plugins=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
cd "$src" || exit 1
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

# expect NAME EXIT_CODE STDERR_LINE -- ARGS...: runs the binary, compares exit code and
# that stderr is exactly that one line.
expect() {
    local name=$1 code=$2 line=$3
    shift 4
    "$bin" "$@" >"$work/out" 2>"$work/err"
    local rc=$?
    local err
    err=$(cat "$work/err")
    if [ "$rc" -eq "$code" ] && [ "$err" == "$line" ]; then
        ok "$name"
    else
        bad "$name" "exit $rc (want $code)" "stderr: $err" "want:   $line"
    fi
}

config() {  # config NAME JSON: writes $work/NAME.json
    printf '%s\n' "$2" >"$work/$1.json"
}

# --- options ---------------------------------------------------------------------------
out=$("$bin" --version)
[ "$out" == "stethoscope 0.1.0 (plugin ABI 1.4)" ] && ok version || bad version "$out"
"$bin" --help | grep -q -- "--check-config" && ok help || bad help
expect bad_option 2 "stethoscope: unknown option --bogus (see --help)" -- --bogus
expect missing_value 2 "stethoscope: --config needs a value" -- -c
list=$("$bin" --list-plugins)
if grep -Eq '^pcap-file +input ' <<<"$list" && grep -Eq '^files +output ' <<<"$list"; then
    ok list_plugins
else
    bad list_plugins "$list"
fi

# --- every shipped config passes --check-config ----------------------------------------
for f in config/*.json; do
    if out=$("$bin" -c "$f" --check-config 2>&1) && grep -qx "config OK" <<<"$out"; then
        ok "check_config $f"
    else
        bad "check_config $f" "$out"
    fi
done

# --- bad configs: one line naming the JSON path, exit 2 --------------------------------
expect missing_config 2 "stethoscope: config $work/none.json: cannot read: No such file or directory" \
    -- -c "$work/none.json" --check-config
config bad_json '{ "capture": { "mode": "client" ,, } }'
expect invalid_json 2 "stethoscope: config $work/bad_json.json:1:34: invalid JSON: syntax error" \
    -- -c "$work/bad_json.json" --check-config
config unknown_key '{ "capture": { "mdoe": "client" } }'
expect unknown_key 2 "stethoscope: capture.mdoe: unknown key" -- -c "$work/unknown_key.json" --check-config -r x.pcap
config wrong_type '{ "io": { "output": { "files": { "enabled": true, "dir": 5 } } } }'
expect plugin_section_wrong_type 2 "stethoscope: io.output.files.dir: expected string, got 5" \
    -- -c "$work/wrong_type.json" --check-config -r x.pcap
config out_of_range '{ "reassembly": { "max_sessions": 0 } }'
expect out_of_range 2 "stethoscope: reassembly.max_sessions: expected integer 1..100000000, got 0" \
    -- -c "$work/out_of_range.json" --check-config
config missing_dir '{ "plugins": { "dirs": ["/nonexistent-plugins"] } }'
expect missing_plugin_dir 2 'stethoscope: plugins.dirs[0]: "/nonexistent-plugins" is not a directory' \
    -- -c "$work/missing_dir.json" --check-config
expect bad_log_level 2 'stethoscope: --log-level: expected one of trace, debug, info, warning, error, got "loud"' \
    -- --log-level loud --check-config -r x.pcap

config listener_port '{ "io": { "output": { "listener": { "enabled": true, "requests_port": "abc" } } } }'
expect listener_port 2 'stethoscope: io.output.listener.requests_port: expected integer 1..65535, got "abc"' \
    -- -c "$work/listener_port.json" --check-config -r x.pcap
config listener_range '{ "io": { "output": { "listener": { "enabled": true, "requests_port": 7001, "port_range": "7100-7199" } } } }'
expect listener_range 2 'stethoscope: io.output.listener.port_range: give either port_range or requests_port/responses_port' \
    -- -c "$work/listener_range.json" --check-config -r x.pcap
config listener_range_bad '{ "io": { "output": { "listener": { "enabled": true, "port_range": "7100-7100" } } } }'
expect listener_range_bad 2 'stethoscope: io.output.listener.port_range: expected "first-last" with 1 <= first < last <= 65535 (at least one pair of ports), got "7100-7100"' \
    -- -c "$work/listener_range_bad.json" --check-config -r x.pcap
config connector_target '{ "io": { "output": { "remote-host": { "enabled": true, "requests": "nohost" } } } }'
expect connector_target 2 'stethoscope: io.output.remote-host.requests: expected "host:port" ("[v6]:port" for IPv6), got "nohost"' \
    -- -c "$work/connector_target.json" --check-config -r x.pcap
config connector_none '{ "io": { "output": { "remote-host": { "enabled": true, "bind_client_port": true } } } }'
expect connector_none 2 'stethoscope: io.output.remote-host: expected "requests" and/or "responses" ("host:port" targets)' \
    -- -c "$work/connector_none.json" --check-config -r x.pcap
config connector_queue '{ "io": { "output": { "remote-host": { "enabled": true, "requests": "127.0.0.1:9", "queue_bytes": 10 } } } }'
expect connector_queue 2 'stethoscope: io.output.remote-host.queue_bytes: expected integer 1024..17179869184, got 10' \
    -- -c "$work/connector_queue.json" --check-config -r x.pcap

# --- plugins that cannot be found or loaded: exit 3 ------------------------------------
config unknown_plugin '{ "io": { "output": { "nosuch": { "enabled": true } } } }'
"$bin" -c "$work/unknown_plugin.json" --check-config -r x.pcap >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 3 ] && grep -Eqx "stethoscope: unknown output plugin 'nosuch': no stethoscope-nosuch.so in .*" "$work/err" \
    && [ "$(wc -l <"$work/err")" -eq 1 ]; then ok unknown_plugin; else bad unknown_plugin "exit $rc" "$(cat "$work/err")"; fi
config not_plugin "{ \"plugins\": { \"dirs\": [\"$test_plugins\"] }, \"io\": { \"output\": { \"not-a-plugin\": { \"enabled\": true } } } }"
expect not_a_plugin 3 "stethoscope: plugin $test_plugins/stethoscope-not-a-plugin.so: not a stethoscope plugin (no symbol stethoscope_plugin_descriptor)" \
    -- -c "$work/not_plugin.json" --check-config -r x.pcap
config wrong_abi "{ \"plugins\": { \"dirs\": [\"$test_plugins\"] }, \"io\": { \"output\": { \"wrong-abi\": { \"enabled\": true } } } }"
expect wrong_abi 3 "stethoscope: plugin $test_plugins/stethoscope-wrong-abi.so: built for plugin ABI 2.0, this stethoscope supports 1.0 to 1.4" \
    -- -c "$work/wrong_abi.json" --check-config -r x.pcap
config wrong_kind '{ "capture": { "input": "files" } }'
expect wrong_kind 3 "stethoscope: plugin $(dirname "$bin")/plugins/stethoscope-files.so: expected kind input, found output" \
    -- -c "$work/wrong_kind.json" --check-config

port=$((20000 + RANDOM % 10000))  # below the ephemeral range
nc -l 127.0.0.1 "$port" >/dev/null 2>&1 &
nc_pid=$!
for _ in $(seq 1 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
config listener_busy "{ \"io\": { \"output\": { \"listener\": { \"enabled\": true, \"requests_port\": $port, \"responses_port\": $((port + 1)) } } } }"
expect listener_port_busy 3 "stethoscope: plugin listener: start failed: io.output.listener.requests_port: cannot listen on 127.0.0.1:$port: Address already in use" \
    -- --log-level warning -c "$work/listener_busy.json" -r config/sample-http.pcap
kill "$nc_pid" 2>/dev/null
wait "$nc_pid" 2>/dev/null

# --- inputs that fail: exit 4, one line ------------------------------------------------
# Runs that start plugins have no control plane: another test's stethoscope may hold the
# default port, and its one warning line is not what these cases check.
config quiet '{ "control": { "enabled": false } }'
expect unreadable_capture 4 "stethoscope: cannot read capture $work/none.pcap: $work/none.pcap: No such file or directory" \
    -- --log-level warning -c "$work/quiet.json" -r "$work/none.pcap"
config bad_filter '{ "capture": { "mode": "filter", "filter": "tcp port nope" }, "control": { "enabled": false } }'
expect bad_filter 4 'stethoscope: capture filter "tcp port nope" does not compile for link type EN10MB: unknown port '"'"'nope'"'"'' \
    -- --log-level warning -c "$work/bad_filter.json" -r config/sample-http.pcap

# --- a plugin built against an older, smaller SDK loads and runs in the real binary ----
config old_sdk "{ \"plugins\": { \"dirs\": [\"$test_plugins\"] }, \"io\": { \"output\": { \"old-sdk\": { \"enabled\": true } } } }"
"$bin" --log-level warning -c "$work/old_sdk.json" -r config/sample-http.pcap >"$work/out" 2>"$work/err"
rc=$?
got=$(grep '"event":"old_sdk_end"' "$work/out" | grep -o '"session":[0-9]*.*"bytes":[0-9]*' |
      sed -E 's/"session":([0-9]+).*"direction":([01]),"bytes":([0-9]+)/\1 \2 \3/' | sort)
want=$'55734 0 165\n55734 1 24621\n55736 0 173\n55736 1 164\n55740 0 89\n55740 1 3885'
if [ $rc -eq 0 ] && [ "$got" == "$want" ]; then ok old_sdk_plugin; else bad old_sdk_plugin "exit $rc" "$got" "$(cat "$work/err")"; fi

# --- SIGTERM during a live capture stops cleanly and flushes the outputs (root) --------
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP sigterm_flushes_outputs: needs root for live capture"
else
    port=$(( 20000 + RANDOM % 10000 ))
    config live "{ \"capture\": { \"mode\": \"filter\", \"filter\": \"tcp port $port\" }, \"io\": { \"output\": { \"files\": { \"enabled\": true, \"dir\": \"$work/live\" } } } }"
    "$bin" -c "$work/live.json" -i lo >"$work/live.out" 2>"$work/live.err" &
    pid=$!
    for _ in $(seq 50); do grep -q "capturing on lo" "$work/live.err" && break; sleep 0.1; done
    printf 'response-bytes' | timeout 5 nc -l 127.0.0.1 "$port" >/dev/null &
    sleep 0.3
    printf 'request-bytes' | timeout 5 nc -N 127.0.0.1 "$port" >/dev/null
    sleep 0.5
    kill -TERM $pid
    wait $pid
    rc=$?
    d=$(ls -d "$work"/live/127.0.0.1_*-127.0.0.1_"$port" 2>/dev/null | head -1)
    if [ $rc -eq 0 ] && [ -n "$d" ] && [ "$(cat "$d/requests.bin")" == "request-bytes" ] &&
       [ "$(cat "$d/responses.bin")" == "response-bytes" ] &&
       [ "$(wc -l <"$work/live/sessions.ndjson")" -eq 1 ] && grep -q '"event":"capture_stats"' "$work/live.out"; then
        ok sigterm_flushes_outputs
    else
        bad sigterm_flushes_outputs "exit $rc dir=$d" "$(cat "$work/live.err")"
    fi
fi

# --- live capture errors: one line, exit 4 (root: needs the right to try) -------------
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP live_capture_errors: needs root"
else
    expect missing_interface 4 "stethoscope: no such interface: nosuch0" -- --log-level warning \
        -c "$work/quiet.json" -i nosuch0
    if command -v setpriv >/dev/null; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$bin" --log-level warning \
            -c "$work/quiet.json" -i lo >/dev/null 2>"$work/err"
        rc=$?
        want="stethoscope: no permission to capture on lo: run as root, or grant CAP_NET_RAW and CAP_NET_ADMIN"
        if [ $rc -eq 4 ] && [ "$(cat "$work/err")" == "$want" ]; then ok no_permission; else bad no_permission "exit $rc" "$(cat "$work/err")"; fi
    else
        echo "SKIP no_permission: setpriv not installed"
    fi
fi

echo "cli_e2e: $pass passed, $fail failed"
[ $fail -eq 0 ]
