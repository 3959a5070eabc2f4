#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer, on the stable toolchain
# with --sanitizer none) of every target in fuzz/, each for FUZZ_SECS
# seconds (default 15: the smoke run of make test) over the checked-in
# corpus in fuzz/corpus/<target> (new inputs go to a scratch copy, so the
# tree stays clean). A crash fails the run and leaves its input in
# fuzz/artifacts/<target>/: make it a regression test (docs/reliability.md).
#   FUZZ_SECS=3600 scripts/fuzz.sh            an hour per target
#   FUZZ_TARGETS="sdk_records" scripts/fuzz.sh one target
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECS:-15}
targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
cargo fuzz build -s none -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in $targets; do
  mkdir -p "$work/$t" "artifacts/$t"
  log="$work/$t.log"
  # -jobs 1: one process (2 cores shared with the rest of the machine).
  if ! cargo fuzz run -s none -O "$t" "$work/$t" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -1 | grep -o 'cov: [0-9]*' || true)
  corpus=$(find "$work/$t" "corpus/$t" -type f | wc -l)
  echo "fuzz: $t: ${execs:-?} executions in ${secs} s, ${cov:-cov: ?}, corpus $corpus"
done
