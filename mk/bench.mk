# make bench: op25b side by side with the same edits scripted by hand (postconf/sed/postmap) and
# with augtool (default autoload): median wall times, peak RSS, callgrind instruction counts, and
# how op25b scales with the size of main.cf/master.cf. Prints a table; asserts nothing.
# BENCH_RUNS=15 BENCH_FIXTURE=debian12 BENCH_CALLGRIND=1 BENCH_SCALING=1 BENCH_E2E=1 (see bench/run.sh).
bench: deps
	$(MAKE) op25b
	bash bench/run.sh

# Only the end-to-end figure (about a minute): apply until 465 and 993 serve the new certificate,
# real systemd + postfix@-.service + dovecot.service, op25b (reload) versus an admin's script
# (systemctl restart); medians of BENCH_E2E_RUNS=10 rounds each and their ratio (bench/e2e.sh).
bench-e2e: deps
	$(MAKE) op25b
	bash bench/e2e.sh

.PHONY: bench bench-e2e
