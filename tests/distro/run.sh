#!/bin/bash
# run.sh [RELEASE...]: op25b on Debian 11, 12 and 13 for real (`make check-distros`).
#
# For each release (default: bullseye bookworm trixie, one after another), in a cached root of that
# release (tests/distro/root.sh) used as `/` through an overlay (tests/distro/ns.sh):
#   1. copy this source tree in and build op25b and its unit tests with that release's gcc,
#      OpenSSL, Augeas and libsystemd; run the unit tests;
#   2. run the repository's own shell tests there, unchanged, against that release's programs:
#      apply/revert on fixture trees checked by its postconf/doveconf (t-smtps, t-submission, ...),
#      its Postfix and Dovecot serving 465/587/993/995 with a fake ISP (t-e2e), its systemd booted
#      as PID 1 of private namespaces restarting and rolling back the real units (t-units,
#      t-restart), its firewalld over D-Bus (t-firewall, t-fwapply).
# Every test's own lines are printed, prefixed with the release; then the versions tested and the
# time of each release (root build or cache, op25b build, tests); last the totals line
# "N passed, N failed, N skipped". Exit 1 when anything failed.
#
# OP25B_DISTRO_KEEP=1 keeps each release's overlay (WORK/upper: the build, the tests' files) for a
# look afterwards. OP25B_DISTRO_TESTS: the tests to run (names under tests/, default below). Tests that start
# daemons or systemd hold /tmp/op25b-services.lock while they run (OP25B_DISTRO_LOCK names another
# lock file; empty: none; they run in namespaces of their own, so the lock only spares the CPU).
# A release whose root cannot be built here (no mirror, not root, no mmdebstrap) is skipped with
# the reason.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$HERE/releases.sh"

TESTS=${OP25B_DISTRO_TESTS:-"t-smtps t-submission t-catrust t-config t-lens t-hostile t-probe t-e2e t-units t-restart t-reload t-renew t-fwapply t-firewall"}
SERVICE_TESTS=" t-probe t-e2e t-units t-restart t-reload t-renew t-fwapply t-firewall "
LOCK=${OP25B_DISTRO_LOCK-/tmp/op25b-services.lock}
[ $# -gt 0 ] || set -- $RELEASES

pass=0 failed=0 skipped=0 broken=""
ok() { pass=$((pass + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); broken="$broken $*;"; echo "FAIL - $*"; }
skip() { skipped=$((skipped + 1)); echo "skip - $*"; }
now() { date +%s; }

# The source tree as git sees it (tracked and untracked, not ignored: no build output), else all.
copy_source() { # DEST
	mkdir -p "$1"
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$TOP" && git ls-files -z -co --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
			tar --null -T - -cf -) | tar -xf - -C "$1"
	else
		tar -C "$TOP" --exclude=./build --exclude=./op25b -cf - . | tar -xf - -C "$1"
	fi
}

# in_root REL ROOT WORK CMD...: CMD in the release's root, in /usr/src/op25b.
in_root() {
	local rel=$1 root=$2 work=$3; shift 3
	bash "$HERE/ns.sh" run "$root" "$work" /bin/sh -c 'cd /usr/src/op25b && exec "$@"' sh "$@"
}

# A test's totals line: "N passed, N failed, N skipped".
totals() { grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$1" | tail -n 1; }

SUMMARY="" TABLE=""
# upstream PACKAGE: its upstream version from "package version" lines (no epoch, no Debian revision).
upstream() { awk -v p="$1" '$1 == p { print $2 }' | sed -e 's/^[0-9]*://' -e 's/[-+~].*//'; }
for rel in "$@"; do
	release_known "$rel" || { fail "$rel: unknown release (one of: $RELEASES)"; continue; }
	n=$(release_number "$rel")
	echo "=== Debian $n ($rel)"
	t0=$(now)
	out=$(mktemp)
	bash "$HERE/root.sh" "$rel" >"$out.root" 2>"$out"; rc=$?
	sed 's/^/# /' "$out" | grep -v '^# # ' || true
	grep '^# root' "$out" || true
	if [ $rc = 77 ]; then skip "Debian $n ($rel): no root: $(tail -n 1 "$out")"; rm -f "$out" "$out.root"; continue; fi
	if [ $rc != 0 ]; then fail "Debian $n ($rel): building the root"; rm -f "$out" "$out.root"; continue; fi
	root=$(cat "$out.root")
	how=$(grep -q ': cached' "$out" && echo cached || echo built)
	t_root=$(($(now) - t0))
	rm -f "$out.root"

	work=$(mktemp -d "/var/tmp/op25b-distro-$rel.XXXXXX")
	copy_source "$work/upper/usr/src/op25b"
	# The distros' stock files that some tests read from ../shared beside the checkout.
	if [ -d "$TOP/../shared/reference-configs" ]; then
		mkdir -p "$work/upper/usr/src/shared"
		cp -a "$TOP/../shared/reference-configs" "$work/upper/usr/src/shared/"
	fi

	# 1. build and unit tests with the release's toolchain and libraries
	t1=$(now)
	if in_root "$rel" "$root" "$work" make -j2 op25b units >"$out" 2>&1; then
		ok "Debian $n ($rel): op25b and its unit tests build with $(in_root "$rel" "$root" "$work" sh -c \
			'gcc -dumpfullversion; printf ", OpenSSL "; pkg-config --modversion openssl; printf ", Augeas "; pkg-config --modversion augeas; printf ", libsystemd "; pkg-config --modversion libsystemd' 2>/dev/null | tr -d '\n' | sed 's/^/gcc /')"
		t_build=$(($(now) - t1))
		if in_root "$rel" "$root" "$work" make check-unit >"$out" 2>&1; then
			ok "Debian $n ($rel): unit tests pass ($(grep -c '^100%' "$out") suites)"
		else
			fail "Debian $n ($rel): unit tests"; grep -v '^100%' "$out" | tail -n 40 | sed "s/^/[$rel] /"
		fi
	else
		t_build=$(($(now) - t1))
		fail "Debian $n ($rel): op25b does not build"; tail -n 40 "$out" | sed "s/^/[$rel] /"
		bash "$HERE/ns.sh" clean "$work"; rm -f "$out"
		SUMMARY="$SUMMARY# Debian $n ($rel): root ${t_root} s ($how), build failed"$'\n'
		continue
	fi

	# 2. the shell tests, against the release's own programs
	t2=$(now)
	for t in $TESTS; do
		t3=$(now)
		if [[ $SERVICE_TESTS == *" $t "* ]]; then
			${LOCK:+flock "$LOCK"} bash "$HERE/ns.sh" run "$root" "$work" /bin/sh -c 'cd /usr/src/op25b && exec bash "tests/$1.sh"' sh "$t" >"$out" 2>&1
		else
			in_root "$rel" "$root" "$work" bash "tests/$t.sh" >"$out" 2>&1
		fi
		rc=$?
		sed "s/^/[$rel] /" "$out"
		line=$(totals "$out")
		if [ -z "$line" ]; then
			fail "Debian $n ($rel): $t exit $rc without a totals line"
			continue
		fi
		# shellcheck disable=SC2086
		set -- $line
		if [ "$rc" = 0 ] && [ "$3" = 0 ]; then
			ok "Debian $n ($rel): $t: $line ($(($(now) - t3)) s)"
		else
			fail "Debian $n ($rel): $t: exit $rc, $line"
		fi
		[ "$5" = 0 ] || echo "# Debian $n ($rel): $t skipped $5 check(s)"
	done
	t_tests=$(($(now) - t2))

	vers=$(root_versions "$root" | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')
	echo "# Debian $n ($rel) versions: $vers"
	TABLE="$TABLE# | Debian $n ($rel) | $(root_versions "$root" | upstream postfix) | $(root_versions "$root" | upstream dovecot-core) | $(root_versions "$root" | upstream systemd) | $(root_versions "$root" | upstream firewalld) | $(root_versions "$root" | upstream openssl) | $(root_versions "$root" | upstream libaugeas-dev) | $(root_versions "$root" | upstream gcc) |"$'\n'
	SUMMARY="$SUMMARY# Debian $n ($rel): root ${t_root} s ($how), op25b build ${t_build} s, tests ${t_tests} s, total $(($(now) - t0)) s"$'\n'
	if [ -n "${OP25B_DISTRO_KEEP:-}" ]; then echo "# kept $work"; else bash "$HERE/ns.sh" clean "$work"; fi
	rm -f "$out"
done

printf '%s' "$SUMMARY"
if [ -n "$TABLE" ]; then
	echo "# | Release | Postfix | Dovecot | systemd | firewalld | OpenSSL | Augeas | gcc |"
	printf '%s' "$TABLE"
fi
[ -z "$broken" ] || echo "failing:$broken"
echo "$pass passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
