#!/bin/sh
# Run the Check unit test binaries given as arguments; Check prints its own summary per binary.
rc=0
for u in "$@"; do
	[ -x "$u" ] || { echo "missing unit test binary $u"; rc=1; continue; }
	CK_VERBOSITY=${CK_VERBOSITY:-normal} "$u" || rc=1
done
exit $rc
