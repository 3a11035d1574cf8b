#!/bin/bash
# fw.sh: a real, hermetic firewalld for op25b's tests.
#
# Runs the machine's own firewalld in a NEW network namespace (unshare --net: nothing to name,
# nothing left behind when it exits), talking to a private dbus-daemon, with a private permanent
# configuration directory (--system-config). The host's rules, /etc/firewalld and system bus are
# never touched: every nft call firewalld makes lands in its own namespace.
#
# Sourced (preferred: the daemons are then children of the test shell, which reaps them):
#   . tests/lib/fw.sh
#   fw_check                     can this machine run it? prints "yes" or "no: REASON" (status 0/1)
#   fw_start STATE               start dbus-daemon + firewalld (STATE: a new or empty directory);
#                                waits (bounded, 15 s) until firewalld reports state RUNNING
#   fw_stop_firewalld STATE      stop firewalld only; the bus stays (firewalld "not running")
#   fw_stop STATE                stop firewalld then dbus-daemon, by PID (SIGKILL after 10 s each).
#                                Idempotent.
#   fw_nft STATE ARGS...         run nft inside firewalld's network namespace
#   fw_address STATE             print the bus address for DBUS_SYSTEM_BUS_ADDRESS
# Executed: fw.sh check|start|stop-firewalld|stop|nft|address ... does the same (a daemon started
# that way outlives the script and is reaped by PID 1, if PID 1 reaps).
#
# Layout of STATE: run/bus (the socket), etc-firewalld/ (permanent config: zones/*.xml appear
# here), dbus.pid, firewalld.pid, firewalld.log, bus.conf, services/ (a trap: a D-Bus activation
# file for org.fedoraproject.FirewallD1 that only creates STATE/activated; op25b must never
# bus-activate firewalld, so that file must never appear).
fw_die() { echo "fw.sh: $*" >&2; return 1; }

fw_why_not() {
	[ "$(id -u)" = 0 ] || { echo "not root"; return; }
	local c
	for c in firewalld dbus-daemon busctl unshare nsenter nft timeout; do
		command -v "$c" >/dev/null || { echo "no $c"; return; }
	done
	[ -d /usr/lib/firewalld/zones ] || { echo "no /usr/lib/firewalld/zones"; return; }
	[ -r /usr/share/dbus-1/system.d/FirewallD.conf ] || { echo "no FirewallD.conf D-Bus policy"; return; }
	timeout 10 unshare --net -- true 2>/dev/null || { echo "cannot create a network namespace"; return; }
}

# Running, and not a zombie (a reparented child may wait for a PID 1 that does not reap).
fw_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# PID from STATE/NAME.pid, only while that process still runs the expected program.
fw_live_pid() {
	local f=$1/$2.pid p
	[ -s "$f" ] || return 1
	p=$(cat "$f")
	[[ $p =~ ^[0-9]+$ ]] || return 1
	fw_alive "$p" || return 1
	grep -qs "$3" "/proc/$p/cmdline" || return 1
	echo "$p"
}

fw_stop_pid() {   # stop_pid STATE NAME MATCH
	local p i
	p=$(fw_live_pid "$1" "$2" "$3") || { rm -f "$1/$2.pid"; return 0; }
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 1 100); do
		fw_alive "$p" || break
		sleep 0.1
	done
	if fw_alive "$p"; then
		echo "fw.sh: $2 ($p) still running after 10 s: SIGKILL" >&2
		kill -KILL "$p" 2>/dev/null || true
		for i in $(seq 1 50); do
			fw_alive "$p" || break
			sleep 0.1
		done
		fw_alive "$p" && { fw_die "$2 ($p) survived SIGKILL"; return 1; }
	fi
	# Reap it when it is our child; otherwise it is gone (or a zombie of a dead parent).
	wait "$p" 2>/dev/null || true
	rm -f "$1/$2.pid"
}

fw_write_config() {
	local S=$1
	mkdir -p "$S/run" "$S/etc-firewalld" "$S/services"
	# Our own firewalld.conf: the host's may say anything.
	cat >"$S/etc-firewalld/firewalld.conf" <<-EOF
	DefaultZone=public
	CleanupOnExit=yes
	CleanupModulesOnExit=no
	Lockdown=no
	IPv6_rpfilter=yes
	IndividualCalls=no
	LogDenied=off
	FirewallBackend=nftables
	FlushAllOnReload=yes
	EOF
	cat >"$S/services/org.fedoraproject.FirewallD1.service" <<-EOF
	[D-BUS Service]
	Name=org.fedoraproject.FirewallD1
	Exec=/bin/touch $S/activated
	EOF
	# A "session"-type bus launches activatable services itself (a "system" bus would need the
	# setuid launch helper), so an activation attempt really leaves STATE/activated behind.
	cat >"$S/bus.conf" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>session</type>
	  <auth>EXTERNAL</auth>
	  <listen>unix:path=$S/run/bus</listen>
	  <servicedir>$S/services</servicedir>
	  <policy context="default">
	    <allow user="*"/>
	    <deny own="*"/>
	    <deny send_type="method_call"/>
	    <allow send_type="signal"/>
	    <allow send_requested_reply="true" send_type="method_return"/>
	    <allow send_requested_reply="true" send_type="error"/>
	    <allow receive_type="method_call"/>
	    <allow receive_type="method_return"/>
	    <allow receive_type="error"/>
	    <allow receive_type="signal"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
	  </policy>
	  <include>/usr/share/dbus-1/system.d/FirewallD.conf</include>
	</busconfig>
	EOF
}

fw_address() { echo "unix:path=$(cd "$1" && pwd)/run/bus"; }

fw_check() {
	local r
	r=$(fw_why_not)
	if [ -z "$r" ]; then echo yes; return 0; fi
	echo "no: $r"
	return 1
}

fw_start() {
	local S=$1 i state="" fwpid dbpid
	mkdir -p "$S" || return 1
	S=$(cd "$S" && pwd)
	fw_live_pid "$S" firewalld firewalld >/dev/null && { fw_die "$S: firewalld already running"; return 1; }
	fw_write_config "$S" || return 1
	rm -f "$S/activated"
	local addr="unix:path=$S/run/bus"

	if ! fw_live_pid "$S" dbus dbus-daemon >/dev/null; then
		rm -f "$S/run/bus" "$S/dbus.addr"
		# --nofork: the daemon is our child (reaped at stop); the address is printed once the
		# socket listens.
		dbus-daemon --config-file="$S/bus.conf" --nofork --nopidfile --print-address=3 \
			3>"$S/dbus.addr" </dev/null >"$S/dbus.out" 2>&1 &
		dbpid=$!
		echo "$dbpid" >"$S/dbus.pid"
		for i in $(seq 1 200); do   # 10 s
			[ -s "$S/dbus.addr" ] && break
			fw_alive "$dbpid" || break
			sleep 0.05
		done
		[ -s "$S/dbus.addr" ] || { cat "$S/dbus.out" >&2; fw_die "dbus-daemon did not start"; return 1; }
	fi

	# unshare execs firewalld in place: $! is firewalld's PID, inside the new network namespace.
	# --log-target came with firewalld 1.0 (0.9, Debian 11, logs to --log-file without it).
	local target=()
	firewalld --help 2>&1 | grep -q -- --log-target && target=(--log-target file)
	DBUS_SYSTEM_BUS_ADDRESS=$addr unshare --net -- firewalld --nofork --nopid \
		--system-config "$S/etc-firewalld" "${target[@]}" --log-file "$S/firewalld.log" \
		</dev/null >"$S/firewalld.out" 2>&1 &
	fwpid=$!
	echo "$fwpid" >"$S/firewalld.pid"
	# Properties.Get through `busctl call`, which honours --auto-start=no (get-property does not:
	# it would trigger the activation trap, then hang for 25 s).
	for i in $(seq 1 300); do   # 15 s
		state=$(timeout 5 busctl --auto-start=no --address="$addr" call org.fedoraproject.FirewallD1 \
			/org/fedoraproject/FirewallD1 org.freedesktop.DBus.Properties Get ss \
			org.fedoraproject.FirewallD1 state 2>/dev/null || true)
		[ "$state" = 'v s "RUNNING"' ] && break
		if ! fw_alive "$fwpid"; then
			cat "$S/firewalld.out" "$S/firewalld.log" >&2 2>/dev/null || true
			fw_die "firewalld exited during start"
			return 1
		fi
		sleep 0.05
	done
	[ "$state" = 'v s "RUNNING"' ] ||
		{ fw_die "firewalld not RUNNING after 15 s (state: ${state:-none})"; return 1; }
	# Paranoia: firewalld must not share the host's network namespace.
	if [ "$(readlink "/proc/$fwpid/ns/net")" = "$(readlink /proc/self/ns/net)" ]; then
		fw_stop_pid "$S" firewalld firewalld
		fw_die "firewalld was in the host network namespace: stopped"
		return 1
	fi
}

fw_stop_firewalld() { fw_stop_pid "$1" firewalld firewalld; }

fw_stop() {
	[ -d "$1" ] || return 0
	fw_stop_pid "$1" firewalld firewalld
	fw_stop_pid "$1" dbus dbus-daemon
	rm -f "$1/run/bus"
}

fw_nft() {
	local S=$1 p
	shift
	p=$(fw_live_pid "$S" firewalld firewalld) || { fw_die "firewalld not running"; return 1; }
	timeout 10 nsenter --target "$p" --net -- nft "$@"
}

# Executed rather than sourced: dispatch.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	cmd=${1:-}
	[ $# -gt 0 ] && shift
	case "$cmd" in
	check) fw_check ;;
	start) [ $# -eq 1 ] && fw_start "$1" ;;
	stop-firewalld) [ $# -eq 1 ] && fw_stop_firewalld "$1" ;;
	stop) [ $# -eq 1 ] && fw_stop "$1" ;;
	nft) [ $# -ge 1 ] && fw_nft "$@" ;;
	address) [ $# -eq 1 ] && fw_address "$1" ;;
	*) fw_die "usage: fw.sh check|start|stop-firewalld|stop|nft|address STATE ..." ;;
	esac
	exit $?
fi
