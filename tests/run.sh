#!/bin/sh
# Run every shell test (tests/t-*.sh, or the ones named), print their output, and the totals as
# one "N passed, N failed, N skipped" line. Exit 1 when any test failed.
cd "$(dirname "$0")/.." || exit 1
pass=0 failed=0 skipped=0 broken=""
[ $# -gt 0 ] || set -- tests/t-*.sh
for t in "$@"; do
	echo "=== $t"
	log=$(mktemp)
	start=$(date +%s)
	bash "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "=== $t: exit $rc without a totals line"
		broken="$broken $t"
		failed=$((failed + 1))
		continue
	fi
	set -- $line
	pass=$((pass + $1)) failed=$((failed + $3)) skipped=$((skipped + $5))
	[ "$rc" -eq 0 ] || broken="$broken $t"
	echo "=== $t: exit $rc in $(($(date +%s) - start)) s"
done
[ -z "$broken" ] || echo "failing:$broken"
echo "$pass passed, $failed failed, $skipped skipped"
[ -z "$broken" ] && [ "$failed" -eq 0 ]
