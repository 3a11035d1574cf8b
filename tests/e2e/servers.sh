# Start, reload and stop one instance's Postfix or Dovecot by the PID in its pid file; every wait is
# bounded. An instance lives in R (R/etc/postfix, R/spool, R/etc/dovecot, R/run). Source me.

# Postfix re-reads a main.cf younger than ~2 s (postfix, postconf) and loses seconds: back-date it.
cool() { touch -d '-10 sec' "$1/etc/postfix/main.cf"; }
pf_pid() { awk 'NR == 1 { print $1 }' "$1/spool/pid/master.pid" 2>/dev/null; }
dc_pid() { cat "$1/run/dovecot/master.pid" 2>/dev/null; }

# pf_start R: Postfix prints its errors only to a tty or syslog, hence `script`.
pf_start() {
	cool "$1"
	chown postfix "$1/data"
	timeout 20 script -qec "postfix -c $1/etc/postfix start" /dev/null >"$1/log/start.out" 2>&1 ||
		{ cat "$1/log/start.out" >&2; return 1; }
	local t=$(($(date +%s) + 10))
	until [ -n "$(pf_pid "$1")" ]; do
		[ "$(date +%s)" -ge "$t" ] && { echo "postfix in $1 did not start" >&2; return 1; }
		sleep 0.05
	done
}
# pf_reload R: what `postfix reload` does (SIGHUP to the master), without its 2-s main.cf wait.
pf_reload() { cool "$1"; kill -HUP "$(pf_pid "$1")"; }
dc_start() {
	timeout 20 dovecot -c "$1/etc/dovecot/dovecot.conf" || return 1
	wait_file "$1/run/dovecot/master.pid" 10
}
dc_reload() { kill -HUP "$(dc_pid "$1")"; }

# stop_pid PID [GROUP]: SIGTERM, at most 10 s, then SIGKILL (the process group with GROUP=g).
stop_pid() {
	local pid=$1 t=$(($(date +%s) + 10))
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$t" ]; then
			if [ "${2:-}" = g ]; then kill -KILL -- "-$pid" 2>/dev/null; else kill -KILL "$pid" 2>/dev/null; fi
			break
		fi
		sleep 0.05
	done
}
pf_stop() { stop_pid "$(pf_pid "$1")" g; }
dc_stop() { stop_pid "$(dc_pid "$1")"; }
