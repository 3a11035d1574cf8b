#!/bin/bash
# check DESC eval '...' expands its command when it runs.
# shellcheck disable=SC2016,SC1091,SC2034 # (i0, m0 are read inside the eval strings)
# t-reload.sh: op25b reloads instead of restarting, and nobody is dropped. Against a REAL systemd 252
# in private namespaces (tests/lib/sysd.sh, sysd-mail.sh) running the real Postfix unit and
# dovecot.service:
#   1. an SMTP session (EHLO sent, no QUIT) and an IMAP session are open; apply --mode=smtps; both
#      sessions still answer afterwards, the units kept their InvocationID and main PID (reloaded,
#      not restarted), 465 and 993 present the new certificate, op25b said so;
#   2. revert: reloaded again, the sessions still answer, 465 closed;
#   3. a reload that the daemon refuses: the certificate lives under /tmp, which dovecot.service
#      (PrivateTmp=yes) cannot see; doveconf and op25b can, `doveadm reload` says "done", and
#      Dovecot keeps its old configuration. op25b sees 993 still presenting the old certificate, puts
#      the files back, reloads again (no restart) and exits 1; the sessions still answer.
# Prints "ok/FAIL/skip - ..." lines, "# ..." notes (times) and the totals line.
. "$(dirname "$0")/lib/testlib.sh"
. "$TOP/tests/lib/sysd-mail.sh"
S=$SCRATCH/sysd

skip_all() { skip "$*"; finish; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "not root (a real systemd in namespaces needs root)"
[ -x "$OP25B" ] || skip_all "$OP25B is not built (make op25b)"
for c in postconf doveconf openssl timeout mkfifo; do
	command -v "$c" >/dev/null || skip_all "no $c"
done
why=$("$MAIL_SYSD" check 2>&1) || skip_all "systemd harness cannot run here: ${why#no: }"

# testlib.sh's EXIT trap is replaced: the sessions and the instance must go too (it holds the
# services lock). A write to a session the server closed must fail the check, not kill the test.
sessions=() session_pids=()
cleanup() {
	local fd pid
	for fd in "${sessions[@]}"; do eval "exec $fd>&-"; done
	for pid in "${session_pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	mail_stop || echo "# warning: sysd.sh stop $S failed" >&2
	cleanup_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap '' PIPE

us() { date +%s%6N; }
OUT=$SCRATCH/out
has() { grep -qF -- "$1" "$OUT"; }
show() { sed 's/^/#   /' "$OUT"; }
STATE=/run/op25b/state
op() { X timeout 180 env -u SYSTEMD_OFFLINE -u DBUS_SYSTEM_BUS_ADDRESS "$MAIL_OP25B" "$@" --state-dir="$STATE" --no-firewall >"$OUT" 2>&1; rc=$?; }
ids() { X systemctl show -P InvocationID -P MainPID "$MAIL_PFU" dovecot.service | tr '\n' ' '; }
both_active() { [ "$(X systemctl is-active "$MAIL_PFU" dovecot.service | tr '\n' ' ')" = "active active " ]; }
listening() { [ -n "$(X ss -Htln "sport = :$1")" ]; }
# A reload returns before the daemon has re-read its files: what it serves is asked for up to 5 s.
eventually() { local i; for i in $(seq 50); do "$@" && return 0; sleep 0.1; done; return 1; }
old_served() { ! listening 465 && [ "$(served_cn 993)" = "$old_cn" ]; }
master_pid() { X cat /var/spool/postfix/pid/master.pid | tr -d ' \n'; }

# ---- sessions: a TCP connection inside the instance, kept open across op25b's runs -----------------
# session NAME PORT: commands go in through the FIFO $SCRATCH/NAME.in (held open by fd ${NAME}_fd),
# the server's lines land in $SCRATCH/NAME.out.
session() {
	local name=$1 port=$2 fd
	mkfifo "$SCRATCH/$name.in"
	X timeout 300 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port || exit 1; cat <&3 & cat >&3; wait" \
		<"$SCRATCH/$name.in" >"$SCRATCH/$name.out" 2>&1 &
	session_pids+=("$!")
	exec {fd}>"$SCRATCH/$name.in"
	sessions+=("$fd")
	printf -v "${name}_fd" %s "$fd"
}
say() { local fd="${1}_fd"; printf '%s\r\n' "$2" 2>/dev/null 1>&"${!fd}"; }
# seen NAME REGEX N: at least N lines of the session match REGEX (waits up to 10 s).
seen() {
	local _
	for _ in $(seq 200); do
		[ "$(tr -d '\r' <"$SCRATCH/$1.out" | grep -cE "$2")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}
close_session() { local fd="${1}_fd"; eval "exec ${!fd}>&-"; }

# ---- boot ------------------------------------------------------------------------------------------
if ! mail_boot "$S" "$OP25B" "$TOP" 2>"$SCRATCH/boot.log"; then
	sed 's/^/# /' "$SCRATCH/boot.log"
	fail "harness: systemd booted, $MAIL_PFU and dovecot.service running inside"
	finish
	exit 1
fi
ok "harness: systemd booted, $MAIL_PFU and dovecot.service running inside"
# A mail user for the IMAP session, in the instance's private /etc/dovecot (first in the passdb
# order, so PAM is never asked) with its mail under the instance's private /var/lib/dovecot.
# shutdown_clients = no: Dovecot 2.3's default (yes) makes its master SIGTERM the processes of the
# previous configuration 6 s after a reload, logged-in IMAP sessions included ("* BYE Server
# shutting down" 6.4 s after `systemctl reload dovecot`, measured here; man/op25b.8 says so). With "no" a reload keeps them, while a
# restart still drops them (systemd stops every process of the unit): the test tells the two apart.
printf 'op25btest:{PLAIN}op25b-test-pass\n' >"$S/etc-dovecot/op25b-test.passwd"
if dovecot --version | grep -q '^2\.[0-3]\.'; then
	cat >"$S/etc-dovecot/conf.d/00-op25b-test-user.conf" <<'CONF'
shutdown_clients = no
passdb {
  driver = passwd-file
  args = /etc/dovecot/op25b-test.passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/var/lib/dovecot/op25b-test/%u mail=maildir:~/Maildir
}
CONF
else   # Dovecot 2.4 (Debian 13): named passdb/userdb blocks, settings as userdb fields
	cat >"$S/etc-dovecot/conf.d/00-op25b-test-user.conf" <<'CONF'
shutdown_clients = no
passdb passwd-file {
  passwd_file_path = /etc/dovecot/op25b-test.passwd
}
userdb static {
  fields {
    uid = nobody
    gid = nogroup
    home = /var/lib/dovecot/op25b-test/%{user}
  }
}
mail_driver = maildir
mail_path = %{home}/Maildir
CONF
fi
install -d -o nobody -g nogroup "$S/lib-dovecot/op25b-test"
X systemctl reload dovecot.service
ORIG=$SCRATCH/orig
mkdir -p "$ORIG" && cp -a "$S/etc-postfix" "$S/etc-dovecot" "$ORIG/"
orig_files() { same_tree "$ORIG/etc-postfix" "$S/etc-postfix" && same_tree "$ORIG/etc-dovecot" "$S/etc-dovecot"; }
old_cn=$(served_cn 993)
check "baseline: Dovecot presents its own certificate on 993 ($old_cn), nothing on 465" \
	eval '[ -n "$old_cn" ] && [ "$old_cn" != "CN=mail.example.test" ] && ! listening 465'

# open_sessions N: an SMTP session on 25 (greeted, EHLO answered, no QUIT) and a logged-in IMAP
# session on 143 (INBOX selected), named smtpN and imapN.
open_sessions() {
	session "smtp$1" 25
	session "imap$1" 143
	# The greeting first: Postfix 3.9+ (smtpd_forbid_unauth_pipelining) drops a client that talks
	# before it (Debian 13).
	seen "smtp$1" '^220 ' 1
	say "smtp$1" "EHLO before.op25b.test"
	say "imap$1" "a0 LOGIN op25btest op25b-test-pass"
	say "imap$1" "a1 SELECT INBOX"
	check "sessions $1 open: SMTP greeted and EHLO answered, IMAP logged in with INBOX selected" \
		eval "seen smtp$1 '^220 ' 1 && seen smtp$1 '^250 ' 1 && seen imap$1 '^a0 OK' 1 && seen imap$1 '^a1 OK' 1"
}
# sessions_answer N WHEN: both sessions answer a command after WHEN, then end normally.
sessions_answer() {
	say "smtp$1" "MAIL FROM:<someone@op25b.test>"
	say "imap$1" "a2 NOOP"
	check "$2: the SMTP session opened before still answers (MAIL FROM: 250)" seen "smtp$1" "^250 2\.1\.0" 1
	check "$2: the IMAP session opened before still answers (a2 OK)" seen "imap$1" "^a2 OK" 1
	say "smtp$1" "QUIT"
	say "imap$1" "a3 LOGOUT"
	check "$2: both sessions end normally (221, a3 OK)" eval "seen smtp$1 '^221 ' 1 && seen imap$1 '^a3 OK' 1"
	close_session "smtp$1"
	close_session "imap$1"
}

# ---- 1. apply with an SMTP and an IMAP session open --------------------------------------------
open_sessions 1
i0=$(ids) m0=$(master_pid)
t0=$(us)
op apply --mode=smtps --cert="$MAIL_CERT" --key="$MAIL_KEY"
t1=$(us)
echo "# op25b apply --mode=smtps ($(((t1 - t0) / 1000)) ms):"
show
check "apply: exit 0" test "$rc" = 0
check "apply: says it reloaded $MAIL_PFU and dovecot.service (not restarted)" \
	eval 'has "reloaded $MAIL_PFU (active/running" && has "reloaded dovecot.service (active/running" && ! has restarted'
check "apply: op25b saw 465 and 993 serve the new certificate" \
	eval 'has "465 serves $MAIL_CERT" && has "993 serves $MAIL_CERT"'
check "apply: same InvocationIDs and main PIDs (no restart), Postfix's master the same process" \
	eval '[ "$(ids)" = "$i0" ] && [ "$(master_pid)" = "$m0" ] && both_active'
check "apply: 465 and 993 present CN=mail.example.test (openssl s_client)" \
	eval '[ "$(served_cn 465)" = "CN=mail.example.test" ] && [ "$(served_cn 993)" = "CN=mail.example.test" ]'
sessions_answer 1 "after apply"

# ---- 2. revert ---------------------------------------------------------------------------------------
open_sessions 2
op revert
echo "# op25b revert:"
show
check "revert: exit 0, reloaded both, files as before" \
	eval '[ $rc = 0 ] && has "reloaded $MAIL_PFU" && has "reloaded dovecot.service" && orig_files'
check "revert: 465 closed on the reload, 993 back on the old certificate, no restart" \
	eval 'eventually old_served && [ "$(ids)" = "$i0" ]'
sessions_answer 2 "after revert"

# ---- 3. a reload Dovecot refuses: rolled back, reloaded again, sessions kept -------------------------
mkdir -p "$S/tmp/op25b-pki" && cp -a "$S/run/op25b/pki/." "$S/tmp/op25b-pki/"
open_sessions 3
t0=$(us)
op apply --mode=smtps --cert=/tmp/op25b-pki/fullchain.pem --key=/tmp/op25b-pki/privkey.pem
t1=$(us)
echo "# op25b apply, certificate under /tmp (invisible to dovecot.service) ($(((t1 - t0) / 1000)) ms):"
show
check "refused reload: exit 1, op25b says 993 does not serve the certificate" \
	eval '[ $rc = 1 ] && has "993 does not serve /tmp/op25b-pki/fullchain.pem"'
check "refused reload: files put back byte for byte, reloaded with them" \
	eval 'orig_files && has "the files were put back; reloading with them"'
check "refused reload: no restart (same InvocationIDs and main PIDs), both active" \
	eval '[ "$(ids)" = "$i0" ] && both_active'
check "refused reload: Postfix closed 465 again, Dovecot presents its old certificate" \
	eventually old_served
check "refused reload: nothing left in the journal (status: not applied)" \
	eval 'X "$MAIL_OP25B" status --state-dir="$STATE" 2>&1 | grep -qx "smtps: not applied"'
sessions_answer 3 "after the refused reload"

if [ "$FAILED" -gt 0 ]; then
	for f in "$SCRATCH"/*.out; do sed "s|^|#   $(basename "$f" .out): |" "$f"; done
	X tail -n 20 /var/lib/postfix/maillog | sed 's/^/#   maillog: /'
	X journalctl -q -n 20 -u dovecot.service | sed 's/^/#   dovecot: /'
fi
finish
