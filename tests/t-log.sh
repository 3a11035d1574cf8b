#!/bin/bash
# The audit trail: every apply/revert that changed something is recorded in op25b's history
# (op25b log, --json) with time, verb, modes, files, result and options, never a secret; nothing is
# recorded for a no-change re-apply or a dry run; each record also goes to the systemd journal with
# structured fields (checked against a real journald in the systemd harness, tests/lib/sysd.sh).
. "$(dirname "$0")/lib/testlib.sh"

CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"
OUT=$SCRATCH/out
J() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT" "$1"; }

root=$(new_root debian12)
"$OP25B" log --root="$root" >"$OUT" 2>&1; rc=$?
check "log with no state dir: exit 0, says nothing was recorded" bash -c "[ $rc = 0 ] && grep -q 'no run of op25b recorded' '$OUT'"

A=(apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" -q)
"$OP25B" "${A[@]}" --dry-run >/dev/null
"$OP25B" "${A[@]}"; "$OP25B" "${A[@]}"
printf 'isp-secret-pw-9\n' > "$root/pw"; chmod 600 "$root/pw"
"$OP25B" apply -q --mode=submission --root="$root" --relayhost='[isp.example]:587' --relay-user=homeuser \
	--relay-password-file=/pw --mechanisms=PLAIN --no-firewall
"$OP25B" revert -q --root="$root" --mode=submission
"$OP25B" log --root="$root" >"$OUT" 2>&1; rc=$?
sed 's/^/#   /' "$OUT"
check "log: exit 0, three runs (the dry run and the no-change re-apply are not runs that changed anything)" \
	bash -c "[ $rc = 0 ] && [ \$(grep -c '^20[0-9-]*T[0-9:]*Z ' '$OUT') = 3 ]"
check "log: the apply, its mode, result, files and options" \
	bash -c "grep -q '^20.*Z apply smtps: ok' '$OUT' && grep -q '  changed /etc/postfix/main.cf' '$OUT' && grep -q -- '--cert=$CERT --key=$KEY' '$OUT'"
check "log: the submission apply with its relay options and where the password came from" \
	grep -q -- "--relayhost=\[isp.example\]:587 --relay-user=homeuser --mechanisms=PLAIN --relay-password-file=/pw" "$OUT"
check "log: the revert" grep -q '^20.*Z revert submission: ok' "$OUT"
check "neither log nor the history file holds the password" \
	bash -c "! grep -rq isp-secret-pw-9 '$OUT' '$root/var/lib/op25b/history'"
check "the history file is 0600" test "$(stat -c %a "$root/var/lib/op25b/history")" = 600
"$OP25B" log --root="$root" --json >"$OUT" 2>/dev/null
check "log --json: entries with time, verb, modes, exit, options" \
	J 'len(d["entries"]) == 3 and d["entries"][0]["verb"] == "apply" and d["entries"][0]["modes"] == ["smtps"] and d["entries"][0]["exit"] == 0 and d["entries"][0]["options"]["cert"] == "'"$CERT"'" and d["entries"][2]["verb"] == "revert"'
printf 'garbage\n' >> "$root/var/lib/op25b/history"
"$OP25B" log --root="$root" >"$OUT" 2>&1; rc=$?
check "log: a broken line is skipped with FILE:LINE" bash -c "[ $rc = 0 ] && grep -q 'history:4: not a history record' '$OUT'"
# A FIFO in place of the history file: the run still ends (it blocked at its end, found by
# attacking), says the run is not recorded, and its work stands.
mv "$root/var/lib/op25b/history" "$SCRATCH/history.saved"; mkfifo -m 600 "$root/var/lib/op25b/history"
timeout 20 "$OP25B" revert -q --root="$root" >"$OUT" 2>&1; rc=$?
check "history is a FIFO: revert ends (exit $rc), warns that the run is not recorded" \
	bash -c "[ $rc = 0 ] && grep -q 'history: cannot record this run: not a regular file' '$OUT' && [ -z \"\$(ls '$root/var/lib/op25b/tx')\" ]"
rm -f "$root/var/lib/op25b/history"; mv "$SCRATCH/history.saved" "$root/var/lib/op25b/history"

# The options come from the option table (src/cli/option-table.h), not from a list of their own:
# every option given, on the command line or in the file, in the table's order (those that shape
# the files first); --origin and --timeout were missing while the list named them one by one.
root2=$(new_root debian12)
printf 'cert = %s\nkey = %s\nno_restart = yes\n' "$CERT" "$KEY" >"$SCRATCH/op25b.conf"
"$OP25B" apply -q --mode=smtps --root="$root2" --config="$SCRATCH/op25b.conf" --origin=rpm --timeout=30 --no-firewall
"$OP25B" log --root="$root2" >"$OUT" 2>&1
sed 's/^/#   /' "$OUT"
check "log: every option given, the file's too, in the option table's order" grep -qxF -- \
	"  options: --cert=$CERT --key=$KEY --root=$root2 --config=$SCRATCH/op25b.conf --no-restart --no-firewall --origin=rpm --timeout=30" "$OUT"
"$OP25B" log --root="$root2" --json >"$OUT" 2>/dev/null
check "log --json: a number option is a number, a flag true, a default (postfix-dir) absent" \
	J 'd["entries"][0]["options"]["timeout"] == 30 and d["entries"][0]["options"]["no-restart"] is True and "postfix-dir" not in d["entries"][0]["options"] and "mode" not in d["entries"][0]["options"]'

# ---- the systemd journal: a real journald inside the harness ----
SYSD=$TOP/tests/lib/sysd.sh S=$SCRATCH/sysd started=0
if [ "$(id -u)" != 0 ]; then skip "journal record: not root"; finish; exit; fi
why=$("$SYSD" check 2>&1) || { skip "journal record: systemd harness cannot run here: ${why#no: }"; finish; exit; }
cleanup() { [ "$started" = 1 ] && "$SYSD" stop "$S" >/dev/null 2>&1; cleanup_scratch; }
trap cleanup EXIT
if "$SYSD" start "$S" >"$SCRATCH/start.log" 2>&1; then started=1; ok "harness: systemd booted"
else started=1; tail -5 "$SCRATCH/start.log"; fail "harness: systemd booted"; finish; exit; fi
X() { timeout 100 "$SYSD" exec "$S" "$@"; }
install -d "$S/run/op25b/bin" && install -m 755 "$OP25B" "$S/run/op25b/bin/op25b" && cp -a "$TOP/lenses" "$S/run/op25b/bin/"
r2=/run/op25b/root; mkdir -p "$S$r2"; cp -a "$TOP/fixtures/debian12/." "$S$r2/"
mkdir -p "$S$r2$PKI" && cp -a "$PKI/." "$S$r2$PKI/"
X /run/op25b/bin/op25b apply -q --mode=smtps --root="$r2" --cert="$CERT" --key="$KEY"; rc=$?
check "inside: apply exit 0" test $rc = 0
ID=5b0c3e1a9f2d4c7e8a61d2f0b39e4a17
X journalctl --sync >/dev/null 2>&1
X journalctl -o json --no-pager MESSAGE_ID=$ID >"$OUT" 2>&1
sed 's/^/#   /' "$OUT" | cut -c1-300
check "journal: one record with MESSAGE_ID, verb, mode, files, edits, version, result" python3 - "$OUT" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
assert len(recs) == 1, recs
d = recs[0]
files = d["OP25B_FILE"] if isinstance(d["OP25B_FILE"], list) else [d["OP25B_FILE"]]
assert d["OP25B_VERB"] == "apply" and d["OP25B_MODE"] == "smtps" and d["OP25B_RESULT"] == "ok", d
assert "changed /etc/postfix/main.cf" in files and int(d["OP25B_EDITS"]) >= 5, d
assert d["OP25B_VERSION"] and d["SYSLOG_IDENTIFIER"] == "op25b" and d["PRIORITY"] == "5", d
assert d["MESSAGE"].startswith("apply smtps: done"), d
PY
X /run/op25b/bin/op25b apply -q --mode=smtps --root="$r2" --cert="$CERT" --key="$KEY"
X /run/op25b/bin/op25b revert -q --root="$r2"
X journalctl --sync >/dev/null 2>&1
n=$(X journalctl -o cat --no-pager MESSAGE_ID=$ID | grep -c .)
check "journal: the no-change re-apply left no record, the revert one (2 in all)" test "$n" = 2

# Without a journal (no /run/systemd/journal/socket: a system without journald, or libsystemd
# missing) the record goes to syslog: /dev/log, here a listener of the test's own in place of
# journald's (a private mount namespace, a tmpfs over /run/systemd/journal), facility authpriv.
r3=/run/op25b/root3; mkdir -p "$S$r3"; cp -a "$TOP/fixtures/debian12/." "$S$r3/"
mkdir -p "$S$r3$PKI" && cp -a "$PKI/." "$S$r3$PKI/"
X readlink /dev/log >"$OUT" 2>&1
if grep -qx /run/systemd/journal/dev-log "$OUT"; then
	X unshare -m sh -c '
		mount -t tmpfs -o size=1m op25b-nojournal /run/systemd/journal || exit 3
		timeout 20 python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(\"/run/systemd/journal/dev-log\"); s.settimeout(15)
open(\"/run/systemd/journal/ready\", \"w\").close()
while True:
    d = s.recv(65536).decode(errors=\"replace\")
    if \"op25b\" in d:
        print(d); break
" >/run/op25b/syslog.out 2>&1 &
		for i in $(seq 50); do [ -e /run/systemd/journal/ready ] && break; sleep 0.1; done
		/run/op25b/bin/op25b apply -q --mode=smtps --root='"$r3"' --cert='"$CERT"' --key='"$KEY"'; rc=$?
		wait; exit $rc'
	rc=$?
	sed 's/^/#   /' "$S/run/op25b/syslog.out"
	check "no journal: apply exit 0, its record is one syslog line (authpriv.notice, op25b[PID], the summary)" \
		bash -c "[ $rc = 0 ] && grep -qE '^<85>.*op25b\[[0-9]+\]: apply smtps: done; [0-9]+ files, [0-9]+ edits' '$S/run/op25b/syslog.out'"
	X journalctl --sync >/dev/null 2>&1
	n=$(X journalctl -o cat --no-pager MESSAGE_ID=$ID | grep -c .)
	check "no journal: the record did not reach journald (still 2 there)" test "$n" = 2
else
	skip "syslog fallback: /dev/log in the harness is not journald's dev-log ($(cat "$OUT"))"
fi

# verify --send-test's journal reader (src/net/maillog-journal.c) against this real journald:
# delivery lines sent the way Postfix sends them (syslog, facility mail).
B=$TOP/build DRV=$S/run/op25b/bin/maillog-find
# shellcheck disable=SC2046
if make -s -C "$TOP" B="$B" "$B/libop25b.a" >"$SCRATCH/make.log" 2>&1 &&
	cc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra $(make -s -C "$TOP" print-incflags | sed "s| src/| $TOP/src/|g") \
	$(pkg-config --cflags augeas libsystemd libssl jansson) -o "$DRV" "$TOP/tests/tools/maillog-find.c" "$B/libop25b.a" \
	$(pkg-config --libs libcrypto libssl jansson) -ldl >"$SCRATCH/cc.log" 2>&1; then
	X logger -p mail.info -t postfix/smtp '1A2B3C4D5E: to=<bob@remote.example>, relay=isp.example[192.0.2.1]:587, delay=1.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)'
	X logger -p mail.info -t postfix/smtp '9F8E7D6C5B: to=<eve@remote.example>, relay=none, delay=3, status=deferred (connect timed out)'
	X logger -p user.info -t other 'ABCDEF0123: to=<x@y>, status=sent (not mail facility)'
	X /run/op25b/bin/maillog-find 1A2B3C4D5E 3 >"$OUT" 2>&1
	check "journal reader: the queue ID's delivery line, from to=< on" \
		grep -qx 'found to=<bob@remote.example>, relay=isp.example\[192.0.2.1\]:587, delay=1.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)' "$OUT"
	X /run/op25b/bin/maillog-find 9F8E7D6C5B 3 >"$OUT" 2>&1
	check "journal reader: a deferred one is found as deferred" grep -q '^found to=<eve@remote.example>.*status=deferred' "$OUT"
	X /run/op25b/bin/maillog-find ABCDEF0123 1 >"$OUT" 2>&1; rc=$?
	check "journal reader: a line of another facility is not a mail log line" bash -c "[ $rc = 1 ] && grep -q '^none' '$OUT'"
	( sleep 1; X logger -p mail.info -t postfix/smtp 'C0FFEE1234: to=<late@remote.example>, status=sent (250 ok)' ) &
	X /run/op25b/bin/maillog-find C0FFEE1234 8 >"$OUT" 2>&1
	wait
	check "journal reader: waits for a line that comes later" grep -q '^found to=<late@remote.example>' "$OUT"
else
	sed 's/^/# /' "$SCRATCH/cc.log" "$SCRATCH/make.log" | tail -10
	fail "journal reader driver builds"
fi
finish
