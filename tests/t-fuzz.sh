#!/bin/bash
# A short fuzzing pass for `make check` (mk/fuzz.mk, tests/fuzz/): every libFuzzer target first
# replays its seed corpus (kept crash inputs are regression tests), then runs FUZZ_SECONDS (default
# 10) under ASan+UBSan. `make fuzz` is the longer run. Skipped without clang's libFuzzer.
. "$(dirname "$0")/lib/testlib.sh"

SECS=${FUZZ_SECONDS:-10}
FB=$TOP/build/fuzz

if ! command -v clang >/dev/null; then
	skip "fuzzing: clang is not installed"; finish; exit
fi
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$SCRATCH/probe.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$SCRATCH/probe" "$SCRATCH/probe.c" 2>"$SCRATCH/probe.err"; then
	skip "fuzzing: clang has no libFuzzer here: $(head -n 1 "$SCRATCH/probe.err")"; finish; exit
fi
if ! make -s -C "$TOP" fuzz-build >"$SCRATCH/build.log" 2>&1; then
	fail "fuzzing: make fuzz-build"; tail -n 20 "$SCRATCH/build.log"; finish; exit
fi

for bin in "$FB"/fuzz_*; do
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	t=${bin##*/fuzz_}
	case $t in *.log) continue ;; esac
	corpus=$TOP/tests/fuzz/corpus/$t
	n=$(find "$corpus" -type f | wc -l)
	if "$bin" -runs=0 -close_fd_mask=3 "$corpus" >"$SCRATCH/$t.replay" 2>&1; then
		ok "fuzz_$t: the $n seed inputs replay cleanly"
	else
		fail "fuzz_$t: a seed input fails"; tail -n 30 "$SCRATCH/$t.replay"
	fi
	mkdir -p "$SCRATCH/corpus.$t"
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		timeout $((SECS + 60)) "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-close_fd_mask=3 -artifact_prefix="$SCRATCH/crash-$t-" "$SCRATCH/corpus.$t" "$corpus" >"$SCRATCH/$t.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/$t.log")
		ok "fuzz_$t: ${runs:-?} executions in $SECS s, no crash, leak or undefined behaviour"
	else
		fail "fuzz_$t: found a problem (input kept in build/fuzz/)"
		mkdir -p "$FB"; cp "$SCRATCH"/crash-"$t"-* "$FB"/ 2>/dev/null
		grep -A25 -m1 'ERROR\|runtime error\|deadly signal' "$SCRATCH/$t.log"
	fi
done

finish
