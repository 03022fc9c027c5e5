#!/usr/bin/env bash
# pcap_output_e2e.sh — end-to-end test of the `pcap` output, checked with tshark.
#
#   pcap_output_e2e.sh STETHOSCOPE_BIN SOURCE_DIR WORKDIR
#
# Reads SOURCE_DIR/config/sample-http.pcap (3 real curl<->nginx sessions) and, when the
# capture generator is there (STH_GEN_CAPTURES, default <dir of STETHOSCOPE_BIN>/tests/
# gen_captures), the generated captures, with the pcap output (and the files output as the
# reference for stream contents) in filter mode, and checks:
#   - every output file opens cleanly: `tshark -r` exits 0 and says nothing of malformed,
#     damaged or corrupt data;
#   - per-session files are named as the files output names its folders, and each holds
#     exactly its session's frames: frame.time_epoch, frame.len, frame.cap_len, tcp.seq_raw,
#     tcp.ack_raw and tcp.len equal those of the input filtered to the 4-tuple, in the same
#     order (a repeated 4-tuple: the files base, ~2, ... together);
#   - `tshark -z follow,tcp,raw,0` of each per-session file equals the files output's
#     requests.bin / responses.bin of that session;
#   - per_session false: one capture.<ext> with every frame of the input;
#   - format pcap is nanosecond pcap, pcapng is pcapng; a pcapng input with an Ethernet and a
#     raw-IP interface gives one IDB per link type;
#   - linktype conversion: the converted link type, the same network packets, frame lengths
#     off by the header difference; ethernet -> X -> ethernet gives back the same bytes;
#   - disk errors (a file that cannot be created, a file-size limit standing in for a full
#     disk): exit 0, one log line per session, the file stays valid, counters add up;
#   - config errors (exit 2) and a dir that cannot be created (exit 3) give one exact line.
# Prints PASS/FAIL per check and ends with "N passed, N failed"; exits 1 if any failed.
set -u

if [[ $# -ne 3 ]]; then
    echo "usage: $0 STETHOSCOPE_BIN SOURCE_DIR WORKDIR" >&2
    exit 2
fi

readonly stethoscope=$1
readonly src=$2
readonly workdir=$3
readonly sample="$src/config/sample-http.pcap"
readonly gen_captures=${STH_GEN_CAPTURES:-$(dirname "$stethoscope")/tests/gen_captures}
readonly tshark=${TSHARK:-tshark}
readonly capinfos=${CAPINFOS:-capinfos}
readonly run_timeout=${STH_E2E_TIMEOUT:-120}

exact_fields=(frame.time_epoch frame.len frame.cap_len tcp.seq_raw tcp.ack_raw tcp.len)
network_fields=(frame.time_epoch ip.len ipv6.plen tcp.seq_raw tcp.ack_raw tcp.len)

passed=0
failed=0
rc=0

timeout_cmd=()
if command -v timeout >/dev/null 2>&1; then
    timeout_cmd=(timeout "$run_timeout")
fi

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }
# check NAME REASON_IF_FAILED CONDITION_COMMAND...
check() {
    local name=$1 reason=$2
    shift 2
    if "$@"; then pass "$name"; else fail "$name" "$reason"; fi
}

# write_config NAME PCAP_SECTION [FILES_ENABLED]: $workdir/NAME/config.json with
# io.output.pcap = {"enabled": true, "dir": "$workdir/NAME/pcap", PCAP_SECTION} and the files
# output (the reference for stream contents; on unless FILES_ENABLED is false) in
# $workdir/NAME/streams. Starts $workdir/NAME afresh.
write_config() {
    local name=$1 section=$2 files=${3:-true}
    local dir="$workdir/$name" comma=""
    rm -rf "$dir"
    mkdir -p "$dir"
    [[ -n $section ]] && comma=", "
    cat >"$dir/config.json" <<EOF
// written by pcap_output_e2e.sh
{"capture": {"mode": "filter"${capture_extra:-}},
 "io": {"output": {
   "pcap": {"enabled": true, "dir": "$dir/pcap"$comma$section},
   "files": {"enabled": $files, "dir": "$dir/streams"}}},
 "control": {"enabled": false}}
EOF
}

# run_config NAME CAPTURE: runs stethoscope with $workdir/NAME/config.json on CAPTURE.
# Sets rc; leaves stdout (events) and stderr in $workdir/NAME.
run_config() {
    local dir="$workdir/$1"
    ${timeout_cmd[@]+"${timeout_cmd[@]}"} "$stethoscope" --log-level warning \
        -c "$dir/config.json" -r "$2" >"$dir/stdout" 2>"$dir/stderr"
    rc=$?
}

# run NAME PCAP_SECTION CAPTURE: write_config and run_config.
run() {
    write_config "$1" "$2"
    run_config "$1" "$3"
}

# The final value of counter $2 (e.g. pcap.packets_written) in run $1's capture_stats.
counter() {
    grep '"final":true' "$workdir/$1/stdout" | grep -o "\"$2\":[0-9]*" | tail -1 | cut -d: -f2
}

# opens_cleanly FILE: tshark reads it all without complaint.
opens_cleanly() {
    local out err
    out=$("$tshark" -r "$1" 2>"$workdir/tshark.stderr") || return 1
    err=$(grep -v 'Running as user' "$workdir/tshark.stderr")
    ! grep -qiE 'malformed|damaged|corrupt' <<<"$err$out"
}

# is_subsequence LINES ALL_LINES: every line of LINES is in ALL_LINES, in the same order.
is_subsequence() {
    awk 'NR == FNR { all[++n] = $0; next }
         { found = 0
           while (i < n) { i++; if (all[i] == $0) { found = 1; break } }
           if (!found) { bad = 1; exit } }
         END { exit bad }' <(printf '%s\n' "$2") <(printf '%s\n' "$1")
}

# fields FILE FILTER FIELD...: one line per frame (FILTER "" = all frames).
fields() {
    local file=$1 filter=$2
    shift 2
    local args=()
    local f
    for f in "$@"; do args+=(-e "$f"); done
    if [[ -n $filter ]]; then
        "$tshark" -r "$file" -Y "$filter" -T fields "${args[@]}" 2>/dev/null
    else
        "$tshark" -r "$file" -T fields "${args[@]}" 2>/dev/null
    fi
}

# The display filter for a file stem "<cip>_<cport>-<sip>_<sport>[~N]".
tuple_filter() {
    local stem=${1%%~*}
    local client=${stem%%-*} server=${stem#*-}
    local out="" part ip port
    for part in "$client" "$server"; do
        ip=${part%_*}
        port=${part##*_}
        if [[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ ]]; then
            out+="ip.addr==$ip && "
        else
            out+="ipv6.addr==${ip//./:} && "
        fi
        out+="tcp.port==$port && "
    done
    echo "${out% && }"
}

# The per-session files of a stem, in session order: base, ~2, ~3, ...
files_of_stem() {
    local dir=$1 stem=$2 ext=$3 n=2
    echo "$dir/$stem.$ext"
    while [[ -f "$dir/$stem~$n.$ext" ]]; do
        echo "$dir/$stem~$n.$ext"
        n=$((n + 1))
    done
}

# Base stems (no ~N) of the files in $1 with extension $2, sorted.
stems() {
    local f
    for f in "$1"/*."$2"; do
        [[ -f $f ]] || continue
        f=$(basename "$f" ".$2")
        echo "${f%%~*}"
    done | LC_ALL=C sort -u
}

# Session names (folder names) of the files output in $1, sorted.
stream_folders() {
    local d
    for d in "$1"/*/; do
        [[ -d $d ]] && basename "$d"
    done | LC_ALL=C sort
}

pcap_names() {
    local f
    for f in "$1"/*."$2"; do
        [[ -f $f ]] && basename "$f" ".$2"
    done | LC_ALL=C sort
}

hex_of() { if [[ -f $1 ]]; then od -An -tx1 -v "$1" | tr -d ' \n'; fi; }

# follow_matches PCAP_FILE STREAM_FOLDER CLIENT_PORT: tshark's raw follow of the file's
# (only) TCP stream equals requests.bin / responses.bin.
follow_matches() {
    local file=$1 folder=$2 cport=$3
    local follow node0 first second
    follow=$("$tshark" -q -z follow,tcp,raw,0 -r "$file" 2>/dev/null) || return 1
    node0=$(grep -m1 '^Node 0:' <<<"$follow")
    first=$(grep -E '^[0-9a-f]+$' <<<"$follow" | tr -d '\n')
    second=$(grep -E $'^\t[0-9a-f]+$' <<<"$follow" | tr -d '\t\n')
    if [[ ${node0##*:} != "$cport" ]]; then
        local t=$first
        first=$second
        second=$t
    fi
    [[ $first == "$(hex_of "$folder/requests.bin")" &&
        $second == "$(hex_of "$folder/responses.bin")" ]]
}

# check_per_session NAME INPUT EXT FIELDS_KIND [LEN_DELTA]: every file opens cleanly, the
# names equal the files output's folders, each stem's files hold exactly the input's
# frames of that 4-tuple (FIELDS_KIND exact, or network with frame lengths off by
# LEN_DELTA), and the raw follow of each file equals the files output's streams.
check_per_session() {
    local name=$1 input=$2 ext=$3 kind=$4 delta=${5:-0}
    local dir="$workdir/$name" f stem ok=1 why=""
    check "$name: exit code" "exit $rc, stderr: $(head -3 "$dir/stderr")" test "$rc" -eq 0
    check "$name: stderr empty" "$(head -3 "$dir/stderr")" test ! -s "$dir/stderr"
    check "$name: file names = files output folders" \
        "pcap: $(pcap_names "$dir/pcap" "$ext" | tr '\n' ' ') files: $(stream_folders "$dir/streams" | tr '\n' ' ')" \
        test "$(pcap_names "$dir/pcap" "$ext")" == "$(stream_folders "$dir/streams")"
    for f in "$dir/pcap"/*."$ext"; do
        opens_cleanly "$f" || { ok=0; why+="$(basename "$f") does not open cleanly; "; }
    done
    check "$name: every file opens cleanly" "$why" test $ok -eq 1
    ok=1 why=""
    local total=0 n
    for stem in $(stems "$dir/pcap" "$ext"); do
        local filter got want
        filter=$(tuple_filter "$stem")
        got=""
        while read -r f; do
            if [[ $kind == exact ]]; then
                got+=$(fields "$f" "" "${exact_fields[@]}")$'\n'
            else
                got+=$(fields "$f" "" "${network_fields[@]}")$'\n'
            fi
        done < <(files_of_stem "$dir/pcap" "$stem" "$ext")
        if [[ $kind == exact ]]; then
            want=$(fields "$input" "$filter" "${exact_fields[@]}")
        else
            want=$(fields "$input" "$filter" "${network_fields[@]}")
            lengths_off_by "$input" "$filter" "$dir/pcap" "$stem" "$ext" "$delta" ||
                { ok=0; why+="$stem: frame lengths not off by $delta; "; }
        fi
        got=$(sed '/^$/d' <<<"$got")
        [[ $got == "$want" ]] || { ok=0; why+="$stem: frames differ from the input's; "; }
        n=$(grep -c '' <<<"$got")
        total=$((total + n))
    done
    check "$name: each session's files hold exactly its frames, in order" "$why" test $ok -eq 1
    local tcp_frames
    tcp_frames=$("$tshark" -r "$input" -Y tcp 2>/dev/null | grep -c '')
    check "$name: all $tcp_frames TCP frames written" "files hold $total" test "$total" -eq "$tcp_frames"
    ok=1 why=""
    for f in "$dir/pcap"/*."$ext"; do
        stem=$(basename "$f" ".$ext")
        local cport=${stem%%-*}
        cport=${cport##*_}
        follow_matches "$f" "$dir/streams/$stem" "$cport" || { ok=0; why+="$stem; "; }
    done
    check "$name: follow,tcp,raw = files output streams" "differ: $why" test $ok -eq 1
}

# lengths_off_by INPUT FILTER DIR STEM EXT DELTA: frame.len and frame.cap_len of the
# stem's files are the input's plus DELTA, frame by frame.
lengths_off_by() {
    local input=$1 filter=$2 dir=$3 stem=$4 ext=$5 delta=$6 f
    local want got=""
    want=$(fields "$input" "$filter" frame.len frame.cap_len |
        awk -v d="$delta" '{ print $1 + d "\t" $2 + d }')
    while read -r f; do
        got+=$(fields "$f" "" frame.len frame.cap_len)$'\n'
    done < <(files_of_stem "$dir" "$stem" "$ext")
    [[ $(sed '/^$/d' <<<"$got") == "$want" ]]
}

file_type() { "$capinfos" -t "$1" 2>/dev/null | sed -n 's/^File type: *//p'; }
encapsulation() { "$capinfos" -E "$1" 2>/dev/null | sed -n 's/^File encapsulation: *//p'; }

# ------------------------------------------------------------------ sample-http.pcap

mkdir -p "$workdir"

run sample_pcapng '"format": "pcapng"' "$sample"
check_per_session sample_pcapng "$sample" pcapng exact
for f in "$workdir/sample_pcapng/pcap"/*.pcapng; do
    check "sample_pcapng: $(basename "$f") is pcapng" "$(file_type "$f")" \
        test "$(file_type "$f")" == "Wireshark/... - pcapng"
done
check "sample_pcapng: counters" \
    "files_opened $(counter sample_pcapng pcap.files_opened) packets_written $(counter sample_pcapng pcap.packets_written)" \
    test "$(counter sample_pcapng pcap.files_opened)/$(counter sample_pcapng pcap.packets_written)/$(counter sample_pcapng pcap.packets_dropped)/$(counter sample_pcapng pcap.write_errors)" == "3/38/0/0"

run sample_pcap '"format": "pcap"' "$sample"
check_per_session sample_pcap "$sample" pcap exact
for f in "$workdir/sample_pcap/pcap"/*.pcap; do
    check "sample_pcap: $(basename "$f") is nanosecond pcap" "$(file_type "$f")" \
        test "$(file_type "$f")" == "Wireshark/tcpdump/... - nanosecond pcap"
done

# Close at the second FIN with no grace, write every packet at once, never idle: the last
# ACKs reopen the file and append; the result must not change.
run sample_reopen '"format": "pcapng", "queue_size": 1, "close_on_fin": true, "fin_close_grace_sec": 0, "idle_close_sec": 0' "$sample"
check_per_session sample_reopen "$sample" pcapng exact
run sample_no_fin_close '"format": "pcap", "close_on_fin": false, "idle_close_sec": 0.000001, "queue_size": 3' "$sample"
check_per_session sample_no_fin_close "$sample" pcap exact

# One file for all sessions: workers deliver sessions concurrently, so only each
# session's own order is fixed; the set of frames is the input's.
for fmt in pcapng pcap; do
    name=sample_single_$fmt
    run "$name" "\"format\": \"$fmt\", \"per_session\": false" "$sample"
    out="$workdir/$name/pcap/capture.$fmt"
    check "$name: exit 0, nothing on stderr" "exit $rc: $(head -3 "$workdir/$name/stderr")" \
        test "$rc" -eq 0 -a ! -s "$workdir/$name/stderr"
    check "$name: only capture.$fmt" "$(ls "$workdir/$name/pcap")" \
        test "$(ls "$workdir/$name/pcap")" == "capture.$fmt"
    check "$name: opens cleanly" "tshark complains" opens_cleanly "$out"
    check "$name: the input's frames" "differ" \
        test "$(fields "$out" "" "${exact_fields[@]}" | LC_ALL=C sort)" == \
        "$(fields "$sample" "" "${exact_fields[@]}" | LC_ALL=C sort)"
    ok=1
    for stem in $(stream_folders "$workdir/$name/streams"); do
        filter=$(tuple_filter "$stem")
        [[ "$(fields "$out" "$filter" "${exact_fields[@]}")" == \
            "$(fields "$sample" "$filter" "${exact_fields[@]}")" ]] || ok=0
    done
    check "$name: each session's frames in capture order" "differ" test $ok -eq 1
done

# Link-type conversion of Ethernet frames: header sizes raw 0, null 4, linux_sll 16.
for conversion in "raw:-14:Raw IP" "null:-10:NULL/Loopback" "linux_sll:2:Linux cooked-mode capture v1"; do
    lt=${conversion%%:*}
    lt_delta=${conversion#*:}
    lt_delta=${lt_delta%%:*}
    lt_encap=${conversion#*:*:}
    for fmt in pcap pcapng; do
        name=sample_to_${lt}_$fmt
        run "$name" "\"format\": \"$fmt\", \"linktype\": \"$lt\"" "$sample"
        check_per_session "$name" "$sample" "$fmt" network "$lt_delta"
        ok=1
        for f in "$workdir/$name/pcap"/*."$fmt"; do
            [[ $(encapsulation "$f") == "$lt_encap" ]] || ok=0
        done
        check "$name: encapsulation $lt_encap" "$(encapsulation "$f")" test $ok -eq 1
    done
done

# Round trip: Ethernet -> X (one file) -> Ethernet (per session) gives back every byte
# (the sample is from loopback: its MACs are zero, as a rebuilt Ethernet header's are).
# This also converts from each X the engine decodes.
for lt in raw null linux_sll 276 108; do
    value=$lt
    [[ $lt =~ ^[0-9]+$ ]] || value="\"$lt\""
    name=roundtrip_$lt
    # One worker: with several, the single file holds the sessions' packets in the order
    # the workers wrote them, not in time order (README, pcap per_session), and a read
    # of it may then close a session before its last ACK.
    capture_extra=', "workers": 1' \
        run "${name}_there" "\"format\": \"pcap\", \"per_session\": false, \"linktype\": $value" "$sample"
    there="$workdir/${name}_there/pcap/capture.pcap"
    run "$name" '"format": "pcap", "linktype": "ethernet"' "$there"
    ok=1
    for f in "$workdir/sample_pcap/pcap"/*.pcap; do
        back="$workdir/$name/pcap/$(basename "$f")"
        [[ -f $back && "$("$tshark" -r "$back" -x 2>/dev/null)" == "$("$tshark" -r "$f" -x 2>/dev/null)" &&
            "$(fields "$back" "" "${exact_fields[@]}")" == "$(fields "$f" "" "${exact_fields[@]}")" ]] || ok=0
    done
    check "$name: ethernet -> $lt -> ethernet gives the same frames, byte for byte" \
        "exit $rc / $(head -2 "$workdir/$name/stderr")" test $ok -eq 1 -a "$rc" -eq 0
done

# ------------------------------------------------------------------ generated captures

if [[ -x $gen_captures ]]; then
    captures="$workdir/captures"
    rm -rf "$captures"
    "$gen_captures" "$captures" >/dev/null
    for capture in http_inorder.pcap repeated_tuple.pcap ipv6.pcap wraparound.pcap padding.pcap \
        vlan.pcap pcapng_mixed.pcapng; do
        base=${capture%%.*}
        run "gen_$base" '"format": "pcapng"' "$captures/$capture"
        check_per_session "gen_$base" "$captures/$capture" pcapng exact
        check "gen_$base: names = gen_captures' expected folders" "$(pcap_names "$workdir/gen_$base/pcap" pcapng | tr '\n' ' ')" \
            test "$(pcap_names "$workdir/gen_$base/pcap" pcapng)" == "$(stream_folders "$captures/$base.expected")"
    done
    check "gen_repeated_tuple: the repeated 4-tuple gets ~2" "$(ls "$workdir/gen_repeated_tuple/pcap")" \
        test -f "$workdir/gen_repeated_tuple/pcap/198.18.0.1_42000-198.18.0.2_80~2.pcapng"
    check "gen_ipv6: IPv6 name with ':' as '.'" "$(ls "$workdir/gen_ipv6/pcap")" \
        test -f "$workdir/gen_ipv6/pcap/2001.db8..1_40000-2001.db8..2_80.pcapng"

    mixed="$captures/pcapng_mixed.pcapng"
    eth_file=198.18.0.1_41000-198.18.0.2_80
    raw_file=198.18.0.3_41001-198.18.0.4_8080
    check "gen_pcapng_mixed: each session keeps its link type" \
        "$(encapsulation "$workdir/gen_pcapng_mixed/pcap/$eth_file.pcapng") / $(encapsulation "$workdir/gen_pcapng_mixed/pcap/$raw_file.pcapng")" \
        test "$(encapsulation "$workdir/gen_pcapng_mixed/pcap/$eth_file.pcapng")/$(encapsulation "$workdir/gen_pcapng_mixed/pcap/$raw_file.pcapng")" == "Ethernet/Raw IP"

    # One pcapng for both: one IDB per link type.
    run mixed_single '"format": "pcapng", "per_session": false' "$mixed"
    out="$workdir/mixed_single/pcap/capture.pcapng"
    check "mixed_single: opens cleanly" "tshark complains" opens_cleanly "$out"
    check "mixed_single: two interfaces, Ethernet and Raw IP" "$("$capinfos" "$out" 2>/dev/null | grep -E 'interfaces|Encapsulation =')" \
        test "$("$capinfos" "$out" 2>/dev/null | grep -c -E 'Encapsulation = (Ethernet|Raw IP)')/$("$capinfos" "$out" 2>/dev/null | sed -n 's/^Number of interfaces in file: *//p')" == "2/2"
    check "mixed_single: the input's frames" "differ" \
        test "$(fields "$out" "" "${exact_fields[@]}" | LC_ALL=C sort)" == \
        "$(fields "$mixed" "" "${exact_fields[@]}" | LC_ALL=C sort)"

    # Classic pcap holds one link type: the raw-IP session is converted to Ethernet.
    run mixed_single_pcap '"format": "pcap", "per_session": false, "linktype": "ethernet"' "$mixed"
    out="$workdir/mixed_single_pcap/pcap/capture.pcap"
    check "mixed_single_pcap: opens cleanly, Ethernet" "$(encapsulation "$out")" \
        test "$(opens_cleanly "$out" && encapsulation "$out")" == "Ethernet"
    check "mixed_single_pcap: every frame written" "differ" \
        test "$(fields "$out" "" "${network_fields[@]}" | LC_ALL=C sort)" == \
        "$(fields "$mixed" "" "${network_fields[@]}" | LC_ALL=C sort)"

    # raw -> ethernet: the raw session's frames get a 14-byte header.
    run mixed_to_ethernet '"format": "pcapng", "linktype": "ethernet"' "$mixed"
    f="$workdir/mixed_to_ethernet/pcap/$raw_file.pcapng"
    check "mixed_to_ethernet: the raw session's file is Ethernet" "$(encapsulation "$f")" \
        test "$(encapsulation "$f")" == "Ethernet"
    check "mixed_to_ethernet: raw frames + 14 bytes" "differ" \
        lengths_off_by "$mixed" "$(tuple_filter "$raw_file")" "$workdir/mixed_to_ethernet/pcap" "$raw_file" pcapng 14
    check "mixed_to_ethernet: same packets" "differ" \
        test "$(fields "$f" "" "${network_fields[@]}")" == "$(fields "$mixed" "$(tuple_filter "$raw_file")" "${network_fields[@]}")"
else
    echo "SKIP generated captures: $gen_captures not found (set STH_GEN_CAPTURES)"
fi

# ------------------------------------------------------------------ disk errors

# A session whose file cannot be created (a directory is in its place): counted, logged
# once, the others written.
name=cannot_create
blocked=127.0.0.1_55736-127.0.0.1_18080
write_config "$name" '"format": "pcapng"'
mkdir -p "$workdir/$name/pcap/$blocked.pcapng"
run_config "$name" "$sample"
check "$name: exit 0" "exit $rc" test "$rc" -eq 0
check "$name: one error line naming the file" "$(cat "$workdir/$name/stderr")" \
    test "$(grep -c '' "$workdir/$name/stderr")/$(grep -c "error.*cannot create .*$blocked.pcapng" "$workdir/$name/stderr")" == "1/1"
check "$name: counters (10 packets dropped, 28 written, 1 error)" \
    "dropped $(counter "$name" pcap.packets_dropped) written $(counter "$name" pcap.packets_written) errors $(counter "$name" pcap.write_errors)" \
    test "$(counter "$name" pcap.packets_dropped)/$(counter "$name" pcap.packets_written)/$(counter "$name" pcap.write_errors)" == "10/28/1"
ok=1
for f in "$workdir/$name/pcap"/*.pcapng; do
    [[ -d $f ]] && continue
    cmp -s "$f" "$workdir/sample_pcapng/pcap/$(basename "$f")" || ok=0
done
check "$name: the other sessions' files are complete" "differ" test $ok -eq 1

# A full disk, played by a file-size limit (SIGXFSZ ignored, so write() fails with EFBIG):
# the big session's file keeps the records that fit (a later, smaller one may still fit:
# every write is tried) and stays a valid capture.
name=disk_full
write_config "$name" '"format": "pcap", "queue_size": 1' false
(
    trap '' XFSZ
    ulimit -f 16
    exec ${timeout_cmd[@]+"${timeout_cmd[@]}"} "$stethoscope" --log-level warning \
        -c "$workdir/$name/config.json" -r "$sample"
) >"$workdir/$name/stdout" 2>"$workdir/$name/stderr"
rc=$?
big=127.0.0.1_55734-127.0.0.1_18080.pcap
check "$name: exit 0" "exit $rc" test "$rc" -eq 0
check "$name: one error line naming the big file" "$(cat "$workdir/$name/stderr")" \
    test "$(grep -c '' "$workdir/$name/stderr")/$(grep -c "error.*cannot write .*$big" "$workdir/$name/stderr")" == "1/1"
check "$name: the cut file opens cleanly" "tshark complains" opens_cleanly "$workdir/$name/pcap/$big"
got=$(fields "$workdir/$name/pcap/$big" "" "${exact_fields[@]}")
want=$(fields "$workdir/sample_pcap/pcap/$big" "" "${exact_fields[@]}")
n=$(grep -c . <<<"$got")
check "$name: the cut file holds $n of the session's 18 frames, in order" "not a subsequence" \
    test "$n" -gt 0 -a "$n" -lt 18 -a "$(is_subsequence "$got" "$want" && echo yes)" == yes
check "$name: written + dropped = 38, dropped = 18 - $n" \
    "written $(counter "$name" pcap.packets_written) dropped $(counter "$name" pcap.packets_dropped)" \
    test "$(counter "$name" pcap.packets_written)/$(counter "$name" pcap.packets_dropped)" == "$((38 - 18 + n))/$((18 - n))"
ok=1
for f in 127.0.0.1_55736-127.0.0.1_18080.pcap 127.0.0.1_55740-127.0.0.1_18080.pcap; do
    cmp -s "$workdir/$name/pcap/$f" "$workdir/sample_pcap/pcap/$f" || ok=0
done
check "$name: the small sessions' files are complete" "differ" test $ok -eq 1

# ------------------------------------------------------------------ config and start errors

# expect_error NAME CONFIG EXIT LINE: stethoscope exits EXIT with exactly LINE on stderr.
expect_error() {
    local name=$1 config=$2 want_rc=$3 line=$4
    local dir="$workdir/$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "$config" >"$dir/config.json"
    ${timeout_cmd[@]+"${timeout_cmd[@]}"} "$stethoscope" --log-level warning -c "$dir/config.json" \
        -r "$sample" >"$dir/stdout" 2>"$dir/stderr"
    local got_rc=$?
    check "$name: exit $want_rc, one line: $line" "exit $got_rc, stderr: $(cat "$dir/stderr")" \
        test "$got_rc" -eq "$want_rc" -a "$(cat "$dir/stderr")" == "$line"
}

blocker="$workdir/blocker"
rm -rf "$blocker"
: >"$blocker"
expect_error dir_not_creatable \
    "{\"capture\": {\"mode\": \"filter\"}, \"io\": {\"output\": {\"pcap\": {\"enabled\": true, \"dir\": \"$blocker/sub\"}}}}" \
    3 "stethoscope: plugin pcap: start failed: cannot create directory $blocker/sub: Not a directory"
expect_error bad_format \
    '{"capture": {"mode": "filter"}, "io": {"output": {"pcap": {"enabled": true, "format": "pcap-ng"}}}}' \
    2 'stethoscope: io.output.pcap.format: expected one of "pcap" "pcapng", got "pcap-ng"'
expect_error bad_linktype \
    '{"capture": {"mode": "filter"}, "io": {"output": {"pcap": {"enabled": true, "linktype": "token_ring"}}}}' \
    2 'stethoscope: io.output.pcap.linktype: expected one of "ethernet" "raw" "null" "linux_sll" or a DLT number 0, 1, 12, 14, 101, 108, 113, 228, 229, 276, got "token_ring"'
expect_error bad_queue_size \
    '{"capture": {"mode": "filter"}, "io": {"output": {"pcap": {"enabled": true, "queue_size": 0}}}}' \
    2 'stethoscope: io.output.pcap.queue_size: expected integer 1..10000000, got 0'
expect_error bad_grace \
    '{"capture": {"mode": "filter"}, "io": {"output": {"pcap": {"enabled": true, "fin_close_grace_sec": -0.5}}}}' \
    2 'stethoscope: io.output.pcap.fin_close_grace_sec: expected number 0..inf, got -5E-1'
expect_error unknown_key \
    '{"capture": {"mode": "filter"}, "io": {"output": {"pcap": {"enabled": true, "snaplen": 65535}}}}' \
    2 'stethoscope: io.output.pcap.snaplen: unknown key'

# The example config loads.
out=$("$stethoscope" -c "$src/config/pcap-only.json" --check-config 2>&1)
check "config/pcap-only.json passes --check-config" "$out" grep -q '^config OK$' <<<"$out"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
