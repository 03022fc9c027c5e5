#!/usr/bin/env bash
# make_corpus.sh — seed corpora for the fuzz targets, from the end-to-end test captures.
#
#   make_corpus.sh GEN_CAPTURES_BIN OUTDIR
#
# Runs GEN_CAPTURES_BIN OUTDIR/captures, then split_captures.py writes
#   OUTDIR/fuzz_decoder/      one seed per frame, with its link selector byte
#   OUTDIR/fuzz_engine/       one seed per capture (length-prefixed Ethernet frames)
#   OUTDIR/fuzz_reassembler/  one seed per TCP flow (reassembler operations)
# The seed directories are rebuilt from scratch on every run. Needs python3.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 GEN_CAPTURES_BIN OUTDIR" >&2
    exit 2
fi
readonly gen_captures=$1
readonly outdir=$2
readonly here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ ! -x $gen_captures ]]; then
    echo "make_corpus.sh: $gen_captures: not an executable (build the gen_captures target)" >&2
    exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "make_corpus.sh: python3 not found" >&2
    exit 2
fi

rm -rf "$outdir/captures" "$outdir/fuzz_decoder" "$outdir/fuzz_engine" "$outdir/fuzz_reassembler"
mkdir -p "$outdir/captures"
"$gen_captures" "$outdir/captures" >/dev/null
python3 "$here/split_captures.py" "$outdir/captures" "$outdir"
