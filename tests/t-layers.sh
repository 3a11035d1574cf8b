#!/bin/bash
# The layers of src/ (Makefile's LAYERS, top to bottom: cli, facts, plan, store, system, conf, net,
# base): a module includes only its own layer and the ones below. tests/tools/include-graph.py
# computes the include graph from the #include lines; every climb upward and every include cycle
# fails here. The lists below are empty: an exception would have to be named there (and a listed
# one that is gone fails too, so that the list stays true).
. "$(dirname "$0")/lib/testlib.sh"

KNOWN_CLIMBS=''
KNOWN_CYCLES=''

if ! command -v python3 >/dev/null 2>&1; then
	skip "layers: python3 is not installed"
	finish
	exit
fi
GRAPH=$TOP/tests/tools/include-graph.py
climbs=$(python3 "$GRAPH" --climbs "$TOP/src") || fail "include-graph.py --climbs failed"
new=$(comm -13 <(sort <<<"$KNOWN_CLIMBS") <(sort <<<"$climbs") | grep .)
gone=$(comm -23 <(sort <<<"$KNOWN_CLIMBS") <(sort <<<"$climbs") | grep .)
check "layers: no include climbs to a higher layer${new:+ (new: $(echo $new))}" test -z "$new"
check "layers: the list of known climbs is up to date${gone:+ (gone, strike them off: $(echo $gone))}" test -z "$gone"

report=$(python3 "$GRAPH" "$TOP/src")
cycles=$(sed -n '/^cycles:/,/^climbs/p' <<<"$report" | sed -n 's/^  //p')
newc=$(comm -13 <(sort <<<"$KNOWN_CYCLES") <(sort <<<"$cycles") | grep .)
check "layers: no new include cycle${newc:+ ($(echo $newc))}" test -z "$newc"
printf '%s\n' "$report" | sed -n '1,3s/^/# /p'

# Plans are pure (src/plan/plan.h): they edit parsed trees with the facts src/facts/ gathered. No
# header of the file layer, processes or the network in src/plan/, and no call that reads the
# system (files beneath the root, processes, the password, the network, /proc): files reach a plan
# only through the file set (conf_open*, src/conf/conffile.h).
impure_inc=$(grep -nE '#include "(rootfs|spawn|probe|tlsconn|postmap|units|restart|validate|offline)\.h"' "$TOP"/src/plan/*.[ch] | sed "s|$TOP/||")
check "plans: include no header that reads the system${impure_inc:+ ($(echo $impure_inc))}" test -z "$impure_inc"
impure_call=$(grep -nE '\b(root_[a-z_]+|read_file|read_fd_all|spawn_[a-z_]+|secret_from_[a-z]+|probe_[a-z_]+|tlsconn_[a-z_]+|readlink|fopen|opendir|lstat|stat|getenv|postfix_param|postfix_defaults_prefetch)[[:space:]]*\(' \
	"$TOP"/src/plan/*.c | sed "s|$TOP/||")
check "plans: call nothing that reads the system${impure_call:+ ($(echo $impure_call))}" test -z "$impure_call"

# Whether a run works on the running system has one answer per run (issue 15 item 2): the one
# detector (src/system/offline.c) is asked in src/facts/ only (facts_offline()), and the restarts and
# the firewall step get that answer instead of asking again.
asked=$(grep -nE '\boffline_detect[[:space:]]*\(' "$TOP"/src/*/*.c | grep -v -e "^$TOP/src/facts/" -e "^$TOP/src/system/offline\.c:" | sed "s|$TOP/||")
check "offline: asked in src/facts/ only${asked:+ (also: $(echo $asked))}" test -z "$asked"
check "offline: asked once, in facts_offline()" test "$(grep -hcE '\boffline_detect[[:space:]]*\(' "$TOP"/src/facts/*.c | awk "{ n += \$1 } END { print n + 0 }")" = 1

# The script itself must see a climb: a scratch tree where base/ includes cli/.
mkdir -p "$SCRATCH/src/base" "$SCRATCH/src/cli"
printf '#include "verbs.h"\n' >"$SCRATCH/src/base/low.c"
printf '#include "low.h"\n' >"$SCRATCH/src/cli/verbs.h"
: >"$SCRATCH/src/base/low.h"
check "include-graph.py: finds a climb and a cycle in a scratch tree" \
	sh -c 'c=$(python3 "$1" --climbs "$2") && r=$(python3 "$1" "$2") &&
	       printf "%s\n" "$c" | grep -qx "base/low -> cli/verbs" && printf "%s\n" "$r" | grep -q "low <-> verbs"' _ "$GRAPH" "$SCRATCH/src"
finish
