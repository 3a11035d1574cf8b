# make bench: op25b side by side with the same edits scripted by hand (postconf/sed/postmap) and
# with augtool (default autoload): median wall times, peak RSS, callgrind instruction counts, and
# how op25b scales with the size of main.cf/master.cf. Prints a table; asserts nothing.
# BENCH_RUNS=15 BENCH_FIXTURE=debian12 BENCH_CALLGRIND=1 BENCH_SCALING=1 (see bench/run.sh).
bench: deps
	$(MAKE) op25b
	bash bench/run.sh

.PHONY: bench
