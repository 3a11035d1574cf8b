#!/bin/bash
# shellcheck disable=SC2016 # INIT and the setsid script are expanded by the inner shells
# sysd.sh: a real, hermetic systemd for op25b's tests.
#
# Boots the machine's own systemd as PID 1 of new pid/mount/cgroup/uts/ipc/net namespaces, with a
# private unit directory (the real postfix.service, postfix@.service and dovecot.service, plus test
# units) and private /run, /tmp, /var/tmp, /dev, /etc/postfix, /etc/dovecot, Postfix spool and
# state directories, all bind-mounted from the state directory. The host's services, files, sysctls
# and network are never touched; the only host resources used are one cgroup (removed by `stop`)
# and the state directory.
#
#   sysd.sh check              can this machine run it? prints "yes" or "no: REASON" (exit 0/1)
#   sysd.sh postfix-unit       the unit that runs Postfix here (postfix@-.service or postfix.service)
#   sysd.sh start STATE        boot (STATE: a new or empty directory); prints the host PID of its systemd
#   sysd.sh exec STATE CMD...  run CMD inside: it sees /run/systemd/system, /run/systemd/private, the
#                              system bus at /run/dbus/system_bus_socket and /etc/postfix as usual
#                              (note: STATE itself is NOT visible inside when it lives under /tmp)
#   sysd.sh stop STATE         power off (SIGKILL after 10 s), wait until every process is gone,
#                              remove the cgroup. Idempotent.
#
# From the host (root), clients reach the instance's bus with
#   DBUS_SYSTEM_BUS_ADDRESS=unix:path=STATE/run/dbus/system_bus_socket
# (its private socket STATE/run/systemd/private refuses peers from outside its PID namespace).
#
# Test units (besides the real ones): op25b-test (sleeps), op25b-fail (oneshot that fails after a
# line on stderr), op25b-fail-exec (missing binary), op25b-dep (Requires= op25b-fail), op25b-slow
# (start takes 30 s).
#
# Needs: root, a cgroup2 hierarchy, util-linux (unshare, nsenter), systemd, openssl, and the
# postfix and dovecot units. Adapted from the shared recipe recipes/systemd/sysd-ns.sh.
set -euo pipefail

LIB=/lib/systemd/system
[ -d "$LIB" ] || LIB=/usr/lib/systemd/system
SYSTEMD=/lib/systemd/systemd
[ -x "$SYSTEMD" ] || SYSTEMD=/usr/lib/systemd/systemd
REAL_UNITS="postfix.service postfix@.service dovecot.service"
INFRA_UNITS="systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket
systemd-journald-audit.socket dbus.socket dbus.service"

die() { echo "sysd.sh: $*" >&2; exit 1; }

# The unit running the default Postfix instance: postfix@-.service under Debian 11/12's wrapper
# postfix.service; postfix.service itself on Debian 13, where it Conflicts= postfix@-.service.
postfix_unit() {
	if grep -qs '^Conflicts=.*postfix@-\.service' "$LIB/postfix.service"; then echo postfix.service
	else echo postfix@-.service; fi
}

cgroup2_base() {   # pure cgroup2 or the unified part of a hybrid host
	local b
	for b in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ "$(stat -fc %T "$b" 2>/dev/null)" = cgroup2fs ] && { echo "$b"; return 0; }
	done
	return 1
}

# Why this machine cannot run the harness (empty when it can).
why_not() {
	[ "$(id -u)" = 0 ] || { echo "not root"; return; }
	local c u
	for c in unshare nsenter setsid openssl mount; do
		command -v "$c" >/dev/null || { echo "no $c"; return; }
	done
	[ -x "$SYSTEMD" ] || { echo "no systemd binary ($SYSTEMD)"; return; }
	for u in $REAL_UNITS $INFRA_UNITS; do
		[ -e "$LIB/$u" ] || { echo "no unit $u in $LIB (postfix, dovecot, dbus installed?)"; return; }
	done
	[ -r /usr/share/postfix/main.cf.debian ] || [ -r /etc/postfix/main.cf ] ||
		{ echo "no Postfix main.cf template"; return; }
	local base
	base=$(cgroup2_base) || { echo "no cgroup2 hierarchy"; return; }
	local probe="$base/op25b-check-$$"
	mkdir "$probe" 2>/dev/null || { echo "cannot create a cgroup under $base"; return; }
	rmdir "$probe"
	timeout 10 unshare --pid --fork --mount-proc --mount --propagation private --uts --ipc --net --cgroup \
		-- true 2>/dev/null || { echo "cannot create pid/mount/uts/ipc/net/cgroup namespaces"; return; }
}

state_pid() {   # PID of the instance's systemd, only if it is still ours (in our cgroup)
	local S=$1 P CG
	[ -s "$S/pid" ] && [ -s "$S/cgroup" ] || return 1
	P=$(cat "$S/pid"); CG=$(cat "$S/cgroup")
	[[ $P =~ ^[0-9]+$ ]] || return 1
	grep -qs "^0::/$(basename "$CG")\(/\|$\)" "/proc/$P/cgroup" || return 1
	echo "$P"
}

do_start() {
	local S=$1
	[ -z "$(ls -A "$S" 2>/dev/null)" ] || die "$S is not empty"
	local reason; reason=$(why_not); [ -z "$reason" ] || die "cannot run here: $reason"
	mkdir -p "$S"
	local U=$S/run/op25b/units
	mkdir -p "$U/postfix.service.wants" "$S"/run/op25b/nogen "$S"/run/systemd/journald.conf.d \
		"$S"/{etc-postfix,etc-dovecot,spool-postfix,lib-dovecot,tmp,var-tmp}
	chmod 1777 "$S/tmp" "$S/var-tmp"
	# Volatile journal under the private /run (never the host's /var/log/journal).
	printf '[Journal]\nStorage=volatile\nReadKMsg=no\n' >"$S/run/systemd/journald.conf.d/op25b.conf"
	local t u
	for t in sysinit basic sockets shutdown umount local-fs local-fs-pre swap network network-online \
		nss-lookup paths timers slices; do
		printf '[Unit]\nDescription=stub %s\n' "$t" >"$U/$t.target"
	done
	printf '[Unit]\nDescription=op25b test target\nWants=systemd-journald.service dbus.socket dbus.service\n' \
		>"$U/op25b.target"
	for u in $INFRA_UNITS $REAL_UNITS; do ln -s "$LIB/$u" "$U/$u"; done
	# What Debian's postfix-instance-generator does for the default instance (Debian 11, 12; on 13
	# postfix.service runs it itself).
	[ "$(postfix_unit)" = postfix.service ] ||
		ln -s "$LIB/postfix@.service" "$U/postfix.service.wants/postfix@-.service"
	# Test units; no start rate limit, so that tests may restart them as often as they like.
	tunit() { printf '[Unit]\nStartLimitIntervalSec=0\n%b' "$2" >"$U/$1"; }
	tunit op25b-test.service '[Service]\nExecStart=/bin/sleep infinity\n'
	tunit op25b-fail.service '[Service]\nType=oneshot\nExecStart=/bin/sh -c "echo op25b-fail: about to fail >&2; exit 3"\n'
	tunit op25b-fail-exec.service '[Service]\nType=exec\nExecStart=/nonexistent/op25b-binary\n'
	tunit op25b-dep.service 'Requires=op25b-fail.service\nAfter=op25b-fail.service\n[Service]\nExecStart=/bin/sleep infinity\n'
	tunit op25b-slow.service '[Service]\nType=oneshot\nExecStart=/bin/sleep 30\nTimeoutStartSec=60\n'

	# A private Postfix instance (the machine's master.cf etc., a fresh main.cf) and Dovecot config.
	cp -a /etc/postfix/. "$S/etc-postfix/"
	install -d -o postfix -g postfix "$S/lib-postfix"
	# The maillog, created by its writer (postlogd): Postfix 3.10's postlog, run as root by the
	# unit's "postfix check", would create it root-owned, and postlogd then refuses it ("not owned
	# by postfix"), losing the messages.
	install -o postfix -g postfix -m 600 /dev/null "$S/lib-postfix/maillog"
	{
		if [ -r /usr/share/postfix/main.cf.debian ]; then cat /usr/share/postfix/main.cf.debian
		else cat /etc/postfix/main.cf; fi
		printf 'myhostname = op25b.test\ninet_interfaces = loopback-only\n'
		printf 'maillog_file = /var/lib/postfix/maillog\n'
		# Debian 13's template sets its own (3.9): a second one would warn at every Postfix command.
		grep -qs '^compatibility_level' /usr/share/postfix/main.cf.debian || printf 'compatibility_level = 3.6\n'
	} >"$S/etc-postfix/main.cf"
	cp -a /etc/dovecot/. "$S/etc-dovecot/"
	mkdir -p "$S/etc-dovecot/private"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=op25b.test \
		-keyout "$S/etc-dovecot/private/dovecot.key" -out "$S/etc-dovecot/private/dovecot.pem" 2>/dev/null
	: >"$S/console.log"
	cat /proc/sys/kernel/random/uuid >"$S/boot_id"   # own boot id (journal _BOOT_ID, PrivateTmp names)

	local CGB CG
	CGB=$(cgroup2_base) || die "no cgroup2 hierarchy"
	CG=$CGB/op25b-$(basename "$S")-$$
	mkdir "$CG"; echo "$CG" >"$S/cgroup"

	# Runs as PID 1 of the new namespaces, then execs systemd. container= is REQUIRED: it keeps
	# systemd and systemd-shutdown from doing host-global things (remounting / read-only on poweroff).
	# /tmp is bound last: STATE may live under it.
	local INIT='set -e
	mount -t sysfs -o ro sysfs /sys; mount -t cgroup2 cgroup2 /sys/fs/cgroup
	mount --bind /proc/sys /proc/sys; mount -o remount,bind,ro /proc/sys
	mount --bind "$S/boot_id" /proc/sys/kernel/random/boot_id
	mount -t tmpfs -o mode=755,nosuid tmpfs /dev; cd /dev
	for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
		set -- $n; mknod -m 666 $1 c $2 $3; done
	mkdir pts shm; mount -t devpts -o newinstance,ptmxmode=666 devpts pts; ln -s pts/ptmx ptmx
	mount -t tmpfs tmpfs shm; ln -s /proc/self/fd fd; touch console; mount --bind "$S/console.log" console; cd /
	mount --bind "$S/run" /run; mount --bind "$S/etc-postfix" /etc/postfix; mount --bind "$S/etc-dovecot" /etc/dovecot
	mount --bind "$S/spool-postfix" /var/spool/postfix; mount --bind "$S/lib-postfix" /var/lib/postfix
	mount --bind "$S/lib-dovecot" /var/lib/dovecot; mount --bind "$S/var-tmp" /var/tmp
	mount --bind "$S/tmp" /tmp
	ip link set lo up 2>/dev/null || true
	exec env -i container=op25b SYSTEMD_UNIT_PATH=/run/op25b/units SYSTEMD_GENERATOR_PATH=/run/op25b/nogen \
		SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/op25b/nogen PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		'"$SYSTEMD"' --system --unit=op25b.target --log-target=journal --show-status=no'
	S=$S INIT=$INIT CG=$CG setsid bash -c 'echo $$ >"$CG/cgroup.procs"; exec unshare --pid --fork --kill-child \
		--mount-proc --mount --propagation private --uts --ipc --net --cgroup -- env S="$S" sh -c "$INIT"' \
		</dev/null >"$S/unshare.log" 2>&1 &
	local UP=$! P='' i
	echo "$UP" >"$S/unshare.pid"
	for i in $(seq 250); do
		P=$(cat "/proc/$UP/task/$UP/children" 2>/dev/null || true)
		[ -n "$P" ] && break
		sleep 0.02
	done
	P=${P%% *}
	[ -n "$P" ] || { cat "$S/unshare.log" >&2; die "the namespaces did not start"; }
	echo "$P" >"$S/pid"
	for i in $(seq 500); do
		[ -S "$S/run/systemd/private" ] && break
		kill -0 "$P" 2>/dev/null || break
		sleep 0.02
	done
	[ -S "$S/run/systemd/private" ] || { cat "$S/unshare.log" >&2; do_stop "$S"; die "systemd did not start"; }
	if ! nsenter -t "$P" -a -- timeout 60 systemctl is-system-running --wait >/dev/null; then
		cat "$S/unshare.log" >&2
		nsenter -t "$P" -a -- systemctl --failed --no-pager >&2 || true
		do_stop "$S"
		die "the instance did not finish booting"
	fi
	echo "$P"
}

do_exec() {
	local S=$1 P; shift
	P=$(state_pid "$S") || die "no running instance in $S"
	exec nsenter -t "$P" -a -- "$@"
}

do_stop() {
	local S=$1 P CG i
	[ -s "$S/cgroup" ] || return 0
	CG=$(cat "$S/cgroup")
	case $CG in /sys/fs/cgroup/*op25b-*) ;; *) die "refusing to touch cgroup '$CG'" ;; esac
	if P=$(state_pid "$S"); then
		# Immediate poweroff: systemd-shutdown TERMs then KILLs everything, and exits.
		kill -s RTMIN+14 "$P" 2>/dev/null || true
	fi
	if [ -d "$CG" ]; then
		for i in $(seq 400); do
			grep -qs 'populated 0' "$CG/cgroup.events" && break
			# SIGKILL of the namespace's PID 1 kills every process in it.
			if [ "$i" = 200 ] && P=$(state_pid "$S"); then kill -KILL "$P" 2>/dev/null || true; fi
			sleep 0.05
		done
		grep -qs 'populated 0' "$CG/cgroup.events" || die "processes left in $CG"
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
		[ ! -e "$CG" ] || die "leftover cgroup $CG"
	fi
	local UP
	if [ -s "$S/unshare.pid" ]; then
		UP=$(cat "$S/unshare.pid")
		for i in $(seq 100); do [ -e "/proc/$UP" ] || break; sleep 0.05; done
	fi
	rm -f "$S/cgroup" "$S/pid"
}

cmd=${1:-}
case $cmd in
postfix-unit) postfix_unit ;;
check)
	reason=$(why_not)
	if [ -z "$reason" ]; then echo yes; exit 0; fi
	echo "no: $reason"; exit 1 ;;
start|exec|stop)
	[ $# -ge 2 ] || die "usage: sysd.sh $cmd STATE${cmd/exec/ CMD...}"
	S=$(realpath -m "$2"); shift 2
	case $cmd in
	start) [ $# = 0 ] || die "usage: sysd.sh start STATE"; do_start "$S" ;;
	exec) [ $# -gt 0 ] || die "usage: sysd.sh exec STATE CMD..."; do_exec "$S" "$@" ;;
	stop) do_stop "$S" ;;
	esac ;;
*) echo "usage: sysd.sh check | postfix-unit | start STATE | exec STATE CMD... | stop STATE" >&2; exit 2 ;;
esac
