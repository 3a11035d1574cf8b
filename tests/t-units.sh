#!/bin/bash
# check DESC eval '...' expands its command when it runs; cleanup and has run indirectly.
# shellcheck disable=SC2016,SC2317,SC2034
# t-units.sh: restarting units over systemd's D-Bus API (src/system/units*.c), against a real systemd 252
# booted in private namespaces by tests/lib/sysd.sh, through the test driver tests/tools/restart-unit.c.
# Prints "ok - ..." / "FAIL - ..." per check, "# ..." notes (timings), and finally
# "N passed, N failed, N skipped"; exits non-zero when a check failed.
# The checks that need the harness are skipped when this machine cannot run it (not root, no
# cgroup2, no unshare, ...): `tests/lib/sysd.sh check` says why.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
B=${B:-build}
case $B in /*) ;; *) B=$TOP/$B ;; esac
PKGS="augeas libsystemd libcrypto libssl"
SYSD=$TOP/tests/lib/sysd.sh
PFU=$(bash "$SYSD" postfix-unit)   # postfix@-.service (Debian 11, 12) or postfix.service (13)
HARNESS_CHECKS=23 # how many checks below need the harness (reported as skipped without it)

pass=0 fail=0 skip=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
not_ok() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION COMMAND...: ok when COMMAND succeeds
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
finish() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }
ms() { echo $(($(date +%s%N) / 1000000)); }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/op25b-t-units.XXXXXX") || exit 1
S=$WORK/sysd
started=0
cleanup() {
	if [ "$started" = 1 ]; then "$SYSD" stop "$S" || echo "# warning: sysd.sh stop failed" >&2; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the driver, built against the project's library -----------------------------------------
if ! make -s -C "$TOP" B="$B" "$B/libop25b.a" >"$WORK/make.log" 2>&1; then
	sed 's/^/# /' "$WORK/make.log" | tail -20
	not_ok "build $B/libop25b.a"
	finish
fi
mkdir -p "$B/tools"
DRV=$B/tools/restart-unit
# shellcheck disable=SC2046,SC2086 # pkg-config output and the package list are word lists
if cc -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wformat=2 $(make -s -C "$TOP" print-incflags | sed "s| src/| $TOP/src/|g") $(pkg-config --cflags $PKGS) \
	-o "$DRV" "$TOP/tests/tools/restart-unit.c" "$B/libop25b.a" $(pkg-config --libs $PKGS) -ldl >"$WORK/cc.log" 2>&1 &&
	[ ! -s "$WORK/cc.log" ]; then
	ok "driver tests/tools/restart-unit.c builds without warnings"
else
	sed 's/^/# /' "$WORK/cc.log" | tail -20
	not_ok "driver tests/tools/restart-unit.c builds without warnings"
	finish
fi

# run OUT ERR ENV... -- ARGS: run the driver on the host; sets $rc
run() {
	local out=$1 err=$2 envs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$DRV" "$@" >"$out" 2>"$err"
	rc=$?
}
has() { grep -qF -- "$2" "$1"; }

# ---- offline detection and bus errors on the host (no harness needed) ------------------------
run "$WORK/o" "$WORK/e" -u SYSTEMD_OFFLINE -- --root=/srv/img x.service
check "--root given -> offline, nothing restarted" \
	eval '[ $rc = 0 ] && has "$WORK/o" "offline: yes (--root given)" && ! has "$WORK/o" result'

run "$WORK/o" "$WORK/e" SYSTEMD_OFFLINE=1 -- x.service
check "SYSTEMD_OFFLINE=1 -> offline" eval '[ $rc = 0 ] && has "$WORK/o" "offline: yes (SYSTEMD_OFFLINE=1)"'

run "$WORK/o" "$WORK/e" SYSTEMD_OFFLINE=y -- x.service
check "SYSTEMD_OFFLINE=y -> offline (systemd's booleans; the firewall agrees: t-firewall.sh)" \
	eval '[ $rc = 0 ] && has "$WORK/o" "offline: yes (SYSTEMD_OFFLINE=1)"'

# A /proc where PID 1's root cannot be read is "not a chroot" (as systemctl, and the firewall, see it).
if unshare -m true 2>/dev/null; then
	env -u SYSTEMD_OFFLINE unshare -m sh -c 'mount -t tmpfs none /proc && exec "$0" x.service' "$DRV" >"$WORK/o" 2>"$WORK/e"
	check "/proc/1/root unreadable -> not taken for a chroot ($(sed -n 's/^offline: //p' "$WORK/o"))" \
		eval '! has "$WORK/o" "chroot"'
else
	echo "skip - /proc/1/root unreadable: unshare -m needs root"; skip=$((skip + 1))
fi

run "$WORK/o" "$WORK/e" -u SYSTEMD_OFFLINE -- x.service
if [ -d /run/systemd/system ]; then
	check "host booted with systemd -> online" has "$WORK/o" "offline: no"
else
	check "host: PID 1 ($(cat /proc/1/comm 2>/dev/null)) is not systemd -> offline ($(sed -n 's/^offline: yes (\(.*\))$/\1/p' "$WORK/o"))" \
		has "$WORK/o" "offline: yes (not booted with systemd"
fi

run "$WORK/o" "$WORK/e" SYSTEMD_OFFLINE=0 DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-such-bus" -- x.service
check "SYSTEMD_OFFLINE=0 with no bus -> online, clear error, exit 3" \
	eval '[ $rc = 3 ] && has "$WORK/o" "offline: no" &&
	has "$WORK/e" "op25b: cannot connect to the system bus at unix:path=$WORK/no-such-bus: No such file or directory"'
sed 's/^/#   /' "$WORK/e"

# ---- the harness ---------------------------------------------------------------------------
if ! why=$("$SYSD" check); then
	echo "# skip: ${why#no: } (a real systemd in namespaces needs root, cgroup2 and unshare)"
	skip=$((skip + HARNESS_CHECKS))
	finish
fi
t0=$(ms)
if "$SYSD" start "$S" >"$WORK/start.log" 2>&1; then
	started=1
	ok "harness: systemd booted in private namespaces ($(($(ms) - t0)) ms)"
else
	sed 's/^/# /' "$WORK/start.log" | tail -20
	not_ok "harness: systemd booted in private namespaces"
	started=1
	finish
fi
# The driver must be visible inside, where /tmp is private: put it in the instance's /run.
install -m 755 "$DRV" "$S/run/op25b/restart-unit"
IN=/run/op25b/restart-unit
# Postfix waits ~2 s when main.cf is younger than that: the harness just wrote it.
touch -d '-1 min' "$S/etc-postfix/main.cf"

# inside OUT ERR ARGS...: run the driver inside the instance (plain environment); sets $rc
inside() {
	local out=$1 err=$2
	shift 2
	"$SYSD" exec "$S" env -u SYSTEMD_OFFLINE -u DBUS_SYSTEM_BUS_ADDRESS "$IN" "$@" >"$out" 2>"$err"
	rc=$?
}
sysctl_in() { "$SYSD" exec "$S" systemctl "$@"; }
elapsed() { sed -n 's/^elapsed-ms //p' "$1" | head -1; }

inside "$WORK/o" "$WORK/e" --names
check "inside: online (booted with systemd, not a chroot)" has "$WORK/o" "offline: no"
check "inside: units_postfix_names -> $PFU (the unit that runs Postfix here)" \
	has "$WORK/o" "postfix units: $PFU"

"$SYSD" exec "$S" env SYSTEMD_OFFLINE=1 "$IN" x.service >"$WORK/o" 2>"$WORK/e"
check "inside: SYSTEMD_OFFLINE=1 -> offline" has "$WORK/o" "offline: yes (SYSTEMD_OFFLINE=1)"

# Not running yet: the restart starts them.
inside "$WORK/o" "$WORK/e" @postfix dovecot.service
check "start (restart of inactive units) $PFU + dovecot.service: done, active ($(elapsed "$WORK/o") ms)" \
	eval '[ $rc = 0 ] && has "$WORK/o" "result $PFU ok job=done state=active/running" &&
	has "$WORK/o" "result dovecot.service ok job=done state=active/running"'

inside "$WORK/o" "$WORK/e" @postfix dovecot.service
t_restart=$(elapsed "$WORK/o")
check "restart running $PFU + dovecot.service: job done, units active" \
	eval '[ $rc = 0 ] && has "$WORK/o" "result $PFU ok job=done state=active/running" &&
	has "$WORK/o" "result dovecot.service ok job=done state=active/running"'
echo "# timing: restart call -> $PFU and dovecot.service active: ${t_restart} ms" \
	"($PFU $(sed -n "s/^result $PFU .*usec=\\([0-9]*\\)[0-9][0-9][0-9]\$/\\1/p" "$WORK/o") ms," \
	"dovecot.service $(sed -n 's/^result dovecot.service .*usec=\([0-9]*\)[0-9][0-9][0-9]$/\1/p' "$WORK/o") ms)"
check "systemctl agrees: $PFU and dovecot.service active" \
	eval '[ "$(sysctl_in is-active $PFU dovecot.service | tr "\n" " ")" = "active active " ]'

inside "$WORK/o" "$WORK/e" --twice op25b-test.service
check "two restarts on one connection (as after a rollback): both done" \
	eval '[ $rc = 0 ] && [ "$(grep -c "result op25b-test.service ok job=done state=active/running" "$WORK/o")" = 2 ]'

inside "$WORK/o" "$WORK/e" --journal=10 op25b-fail.service
check "failing unit -> error with the unit's state: \"$(grep -m1 'op25b-fail.service: job' "$WORK/e" | sed 's/^op25b: //')\"" \
	eval '[ $rc = 1 ] && has "$WORK/o" "result op25b-fail.service error job=failed state=failed/failed" &&
	has "$WORK/e" "op25b: op25b-fail.service: job failed, unit failed (failed/failed, exit-code)"'
check "failure report carries the unit's journal lines" \
	eval 'has "$WORK/e" "last journal lines of op25b-fail.service:" && has "$WORK/e" "op25b-fail: about to fail" &&
	has "$WORK/e" "Failed to start op25b-fail.service"'
check "units_last_journal_lines: the unit's last lines, in order" \
	eval 'sed -n "/^journal op25b-fail.service:/,\$p" "$WORK/o" | tail -1 | grep -q "Failed to start op25b-fail.service"'

inside "$WORK/o" "$WORK/e" op25b-fail-exec.service
check "missing binary -> job failed, unit failed" \
	eval '[ $rc = 1 ] && has "$WORK/e" "op25b-fail-exec.service: job failed, unit failed (failed/failed, exit-code)" &&
	has "$WORK/e" "/nonexistent/op25b-binary"'
grep -q "/nonexistent/op25b-binary" "$WORK/e" || sed 's/^/#   /' "$WORK/e"

inside "$WORK/o" "$WORK/e" op25b-dep.service
check "Requires= a failing unit -> job dependency, unit inactive" \
	eval '[ $rc = 1 ] && has "$WORK/o" "result op25b-dep.service error job=dependency state=inactive/dead" &&
	has "$WORK/e" "op25b-dep.service: job failed (a dependency failed), unit inactive (inactive/dead)"'

inside "$WORK/o" "$WORK/e" nope.service
check "unknown unit -> systemd's reason" \
	eval '[ $rc = 1 ] && has "$WORK/e" "op25b: nope.service: restart refused: Unit nope.service not found."'

inside "$WORK/o" "$WORK/e" op25b-test.service op25b-fail.service
check "one failure does not hide the other units' results" \
	eval '[ $rc = 1 ] && has "$WORK/o" "result op25b-test.service ok job=done" &&
	has "$WORK/o" "result op25b-fail.service error job=failed"'

inside "$WORK/o" "$WORK/e" --timeout=1 op25b-slow.service
t_slow=$(elapsed "$WORK/o")
check "job still running at the deadline -> bounded wait (${t_slow} ms for --timeout=1), clear error" \
	eval '[ $rc = 1 ] && [ "${t_slow:-99999}" -lt 3000 ] &&
	has "$WORK/e" "op25b-slow.service: job /org/freedesktop/systemd1/job/" &&
	has "$WORK/e" "did not finish within 1 s, unit activating (activating/start)"'

# A broken main.cf: the instance fails; Debian's wrapper postfix.service still says "done";
# restoring the file and restarting again (what the rollback does) brings it back.
cp -p "$S/etc-postfix/main.cf" "$WORK/main.cf.good"
echo 'inet_interfaces = 192.0.2.1' >>"$S/etc-postfix/main.cf"
touch -d '-1 min' "$S/etc-postfix/main.cf"
sysctl_in reset-failed $PFU 2>/dev/null
inside "$WORK/o" "$WORK/e" @postfix
check "broken main.cf -> $PFU: job failed, unit failed, with Postfix's reason" \
	eval '[ $rc = 1 ] && has "$WORK/e" "op25b: $PFU: job failed, unit failed (failed/failed, exit-code)" &&
	has "$WORK/e" "fatal: parameter inet_interfaces: no local interface found for 192.0.2.1"'
if [ "$PFU" = postfix@-.service ]; then
	inside "$WORK/o" "$WORK/e" postfix.service
	check "(why the instance unit: Debian's postfix.service reports done over the same failure)" \
		eval '[ $rc = 0 ] && has "$WORK/o" "result postfix.service ok job=done state=active/exited" &&
		[ "$(sysctl_in is-active $PFU)" = failed ]'
else
	skip=$((skip + 1))
	echo "skip - (why the instance unit): postfix.service runs Postfix itself here, it is no wrapper"
fi
cp -p "$WORK/main.cf.good" "$S/etc-postfix/main.cf"
sysctl_in reset-failed $PFU 2>/dev/null
inside "$WORK/o" "$WORK/e" @postfix
check "restored main.cf + restart (rollback) -> $PFU active ($(elapsed "$WORK/o") ms)" \
	eval '[ $rc = 0 ] && has "$WORK/o" "result $PFU ok job=done state=active/running"'

# Through dbus-daemon instead of systemd's private socket: inside, and from the host.
"$SYSD" exec "$S" env -u SYSTEMD_OFFLINE DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket \
	"$IN" --twice op25b-test.service op25b-fail.service >"$WORK/o" 2>"$WORK/e"
rc=$?
check "inside over dbus-daemon: JobRemoved (with sender) seen for both units, twice" \
	eval '[ $rc = 1 ] && [ "$(grep -c "result op25b-test.service ok job=done" "$WORK/o")" = 2 ] &&
	[ "$(grep -c "result op25b-fail.service error job=failed state=failed/failed" "$WORK/o")" = 2 ]'
run "$WORK/o" "$WORK/e" SYSTEMD_OFFLINE=0 DBUS_SYSTEM_BUS_ADDRESS="unix:path=$S/run/dbus/system_bus_socket" -- \
	op25b-test.service
check "from the host (SYSTEMD_OFFLINE=0, DBUS_SYSTEM_BUS_ADDRESS=STATE's bus): restart done" \
	eval '[ $rc = 0 ] && has "$WORK/o" "result op25b-test.service ok job=done state=active/running"'

if command -v valgrind >/dev/null; then
	"$SYSD" exec "$S" env -u SYSTEMD_OFFLINE -u DBUS_SYSTEM_BUS_ADDRESS valgrind -q --leak-check=full \
		--show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 \
		"$IN" --twice --journal=3 @postfix op25b-test.service op25b-fail.service nope.service \
		>"$WORK/o" 2>"$WORK/e"
	rc=$?
	check "valgrind: no errors, no leaks (restart x2, failures, journal)" \
		eval '[ $rc = 1 ] && ! grep -q "^==[0-9]*==" "$WORK/e" && has "$WORK/o" "result $PFU ok"'
	grep "^==[0-9]*==" "$WORK/e" | head -20 | sed 's/^/# /'
else
	echo "# skip: valgrind not installed"
	skip=$((skip + 1))
fi

t0=$(ms)
started=0
if "$SYSD" stop "$S" 2>"$WORK/stop.log"; then
	ok "harness stopped: every process gone, cgroup removed ($(($(ms) - t0)) ms)"
else
	sed 's/^/# /' "$WORK/stop.log"
	not_ok "harness stopped: every process gone, cgroup removed"
fi
finish
