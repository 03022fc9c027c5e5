#!/usr/bin/env bash
# Damaged pcapng files (made by make_bad_pcapng.py): each gives exactly one stderr line
# and exit 4, after the packets before the damage were processed (2 sessions each).
# Usage: bad_pcapng_e2e.sh STETHOSCOPE SOURCE_DIR WORKDIR
set -u
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
python3 "$src/tests/e2e/make_bad_pcapng.py" "$work" >/dev/null || { echo "generator failed"; exit 1; }
pass=0 fail=0
# No control plane: stderr is compared exactly, and another test's stethoscope may hold the
# default control port (its "running without it" warning is not what this test checks).
printf '{"control": {"enabled": false}}\n' >"$work/quiet.json"
check() {  # check FILE EXPECTED_TAIL (after "damaged after packet 2: ")
    local f="$work/$1" want="stethoscope: capture $work/$1 is damaged after packet 2: $2"
    "$bin" --log-level warning -c "$work/quiet.json" -r "$f" >"$work/out" 2>"$work/err"
    local rc=$? opened
    opened=$(grep -c '"event":"session_opened"' "$work/out")
    if [ $rc -eq 4 ] && [ "$(cat "$work/err")" == "$want" ] && [ "$opened" -eq 2 ]; then
        pass=$((pass + 1)); echo "PASS $1"
    else
        fail=$((fail + 1)); echo "FAIL $1: exit $rc, $opened sessions"; echo "  got:  $(cat "$work/err")"; echo "  want: $want"
    fi
}
check truncated_mid_block.pcapng "enhanced packet block at byte 228: block length 88 runs past the end of the file: truncated at byte 272"
check truncated_in_header.pcapng "enhanced packet block at byte 228: truncated at byte 234"
check bad_block_length.pcapng "enhanced packet block at byte 228: block length 86 is not a multiple of 4"
check short_block_length.pcapng "enhanced packet block at byte 228: block length 8 is below the minimum of 12"
check huge_block_length.pcapng "enhanced packet block at byte 228: block length 268435460 exceeds the limit of 64 MiB"
check trailing_length_mismatch.pcapng "enhanced packet block at byte 228: trailing block length 92 does not match the leading block length 88"
check unknown_interface.pcapng "enhanced packet block at byte 228: unknown interface 7 (the section describes 2)"
check unknown_interface_new_section.pcapng "enhanced packet block at byte 276: unknown interface 1 (the section describes 1)"
check caplen_beyond_block.pcapng "enhanced packet block at byte 228: captured length 1000 exceeds the 56 bytes of room in the block"
"$bin" --log-level warning -c "$work/quiet.json" -r "$work/valid_variety.pcapng" >"$work/out" 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$work/err" ] && [ "$(grep -c '"event":"session_opened"' "$work/out")" -eq 2 ] &&
   grep -q '"packets":7,' "$work/out"; then
    pass=$((pass + 1)); echo "PASS valid_variety.pcapng"
else
    fail=$((fail + 1)); echo "FAIL valid_variety.pcapng: exit $rc $(cat "$work/err")"
fi
echo "bad_pcapng_e2e: $pass passed, $fail failed"
[ $fail -eq 0 ]
