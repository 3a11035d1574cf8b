#!/bin/bash
# The ISP credentials (issue 13 §3), each case against the real binary on a fixture tree, postmap -q
# as the oracle for what Postfix will use:
#   - a user or password that is not valid UTF-8 or holds a control character is refused (exit 2)
#     before anything is written, and the message does not echo it (postmap would drop the line);
#   - the map and its compiled table end root:root 0600 whatever they were (a user who owned them
#     kept reading the password); revert gives back the owner and mode they had, unless someone
#     changed them since (then theirs stay, as an admin's chmod of main.cf does);
#   - an entry for the same relay in another letter case is replaced, not duplicated (postmap
#     folds keys: the old password won);
#   - while the password is in memory the process cannot dump core and others cannot read its memory
#     (checked on a run as an unprivileged user, blocked reading the password from a FIFO);
#   - --relay-password-stdin on a terminal (a real pty) prompts, does not echo, and ends at Enter.
. "$(dirname "$0")/lib/testlib.sh"

RELAY=smtp.isp.example.test
PWF=/etc/op25b/relay.secret
pwfile() { mkdir -p "$1/etc/op25b"; printf '%s\n' "$2" >"$1$PWF"; chmod 600 "$1$PWF"; }
type=$(postconf -d -h default_database_type)
q() { postmap -c "$1/etc/postfix" -q "$2" "$type:$1/etc/postfix/ispinfo"; }
sub() { # ROOT ARGS...: apply --mode=submission, output in $SCRATCH/out, exit status in $RC
	local root=$1; shift
	"$OP25B" apply --mode=submission --root="$root" --relayhost="$RELAY" --mechanisms=PLAIN "$@" >"$SCRATCH/out" 2>&1
	RC=$?
}

# ---- 1. Not UTF-8, or a control character: exit 2, nothing written, not echoed.
refused() { # DESCRIPTION NEEDLE ARGS...
	local d=$1 needle=$2 root; shift 2
	root=$(new_root debian12); pwfile "$root" good-password
	rm -rf "$SCRATCH/orig"; cp -a "$root" "$SCRATCH/orig"
	sub "$root" "$@" </dev/null
	if [ "$RC" = 2 ] && same_tree "$SCRATCH/orig" "$root" && [ ! -e "$root/var/lib/op25b" ] &&
		! grep -qaF -- "$needle" "$SCRATCH/out" && grep -q '^op25b: .*not shown' "$SCRATCH/out"; then
		ok "$d: exit 2, nothing written, not echoed ($(head -c 120 "$SCRATCH/out"))"
	else
		fail "$d: exit $RC: $(cat -v "$SCRATCH/out")"
	fi
}
# The password on stdin, as the bytes of a printf format.
refused_pw() { # DESCRIPTION PRINTF-BYTES
	local d=$1 bytes=$2 root needle
	root=$(new_root debian12)
	rm -rf "$SCRATCH/orig"; cp -a "$root" "$SCRATCH/orig"
	printf "$bytes" >"$SCRATCH/pwbytes"
	needle=$(printf "$bytes" | head -c 5)
	sub "$root" --relay-user=homeuser --relay-password-stdin <"$SCRATCH/pwbytes"
	if [ "$RC" = 2 ] && same_tree "$SCRATCH/orig" "$root" && [ ! -e "$root/var/lib/op25b" ] &&
		! grep -qaF -- "$needle" "$SCRATCH/out" && grep -q 'not shown' "$SCRATCH/out"; then
		ok "$d: exit 2, nothing written, not echoed ($(head -c 100 "$SCRATCH/out"))"
	else
		fail "$d: exit $RC: $(cat -v "$SCRATCH/out" | head -c 300)"
	fi
}
refused_pw "password in Latin-1 (not UTF-8)" 'Zq-p\xe4sswort\n'
refused_pw "password with a lone continuation byte" 'Zq-pass\x80word\n'
refused_pw "password with an overlong UTF-8 form" 'Zq-pass\xc0\xafword\n'
refused_pw "password with a UTF-16 surrogate" 'Zq-pass\xed\xa0\x80word\n'
refused_pw "password with DEL" 'Zq-pass\x7fword\n'
refused_pw "password with a tab inside" 'Zq-pass\tword\n'
refused_pw "password with a C1 control (U+0085)" 'Zq-pass\xc2\x85word\n'
refused_pw "password with ESC" 'Zq-pass\x1b[2Jword\n'
refused "user in Latin-1 (not UTF-8)" $'Zq-us\xe9r' --relay-user=$'Zq-us\xe9r' --relay-password-file="$PWF"
refused "user with a C1 control (U+009B)" $'Zq-us\xc2\x9br' --relay-user=$'Zq-us\xc2\x9br' --relay-password-file="$PWF"
# Valid UTF-8 of every width still goes through, byte for byte.
root=$(new_root debian12); pwfile "$root" 'Zq-ä€😀-ok'
sub "$root" --relay-user='hömeuser' --relay-password-file="$PWF"
check "UTF-8 user and password of 2, 3 and 4 bytes per character: accepted, postmap -q returns them" \
	test "$RC/$(q "$root" "[$RELAY]:587")" = '0/hömeuser:Zq-ä€😀-ok'

# ---- 2. Owner and mode of the map and its table, whatever they were.
for how in "uid 1000, 0644" "uid 1000 group 1000, 0600" "root, 0644 table only"; do
	root=$(new_root debian12); pwfile "$root" Zq-new-pw
	printf '[other.example]:587 someone:else\n' >"$root/etc/postfix/ispinfo"
	postmap -c "$root/etc/postfix" "$type:$root/etc/postfix/ispinfo"
	case $how in
	"uid 1000, 0644") chown 1000 "$root/etc/postfix/ispinfo"{,.db}; chmod 644 "$root/etc/postfix/ispinfo"{,.db} ;;
	"uid 1000 group 1000, 0600") chown 1000:1000 "$root/etc/postfix/ispinfo"{,.db}; chmod 600 "$root/etc/postfix/ispinfo"{,.db} ;;
	"root, 0644 table only") chmod 600 "$root/etc/postfix/ispinfo"; chmod 644 "$root/etc/postfix/ispinfo.db" ;;
	esac
	sub "$root" --relay-user=homeuser --relay-password-file="$PWF"
	got=$(stat -c '%U:%G %a' "$root/etc/postfix/ispinfo" "$root/etc/postfix/ispinfo.db" | sort -u | tr '\n' ' ')
	check "map and table were $how: now root:root 0600 both (got: $got)" test "$RC/$got" = "0/root:root 600 "
done
# Revert gives the map its owner and mode back ("uid 1000, 0644" above): op25b made it root:root
# 0600. One that someone changed since keeps theirs, as main.cf chmod'ed by an admin does.
"$OP25B" revert -q --root="$root" >"$SCRATCH/out" 2>&1; RC=$?
got=$(stat -c '%U:%G %a' "$root/etc/postfix/ispinfo")
check "revert: the map is back as it was, root:root 0600 -> $got" test "$RC/$got" = "0/root:root 600"
root=$(new_root debian12); pwfile "$root" Zq-new-pw
printf '[other.example]:587 someone:else\n' >"$root/etc/postfix/ispinfo"
chown 1000 "$root/etc/postfix/ispinfo"; chmod 644 "$root/etc/postfix/ispinfo"
cp -p "$root/etc/postfix/ispinfo" "$SCRATCH/ispinfo.orig"
sub "$root" --relay-user=homeuser --relay-password-file="$PWF"
"$OP25B" revert -q --root="$root" >"$SCRATCH/out" 2>&1; RC=$?
got=$(stat -c '%u %a' "$root/etc/postfix/ispinfo")
check "revert of a map that was uid 1000 0644: its bytes, uid 1000 and 0644 again (got $got)" \
	test "$RC/$got" = "0/1000 644" -a "$(cmp -s "$root/etc/postfix/ispinfo" "$SCRATCH/ispinfo.orig" && echo same)" = same
root=$(new_root debian12); pwfile "$root" Zq-new-pw
sub "$root" --relay-user=homeuser --relay-password-file="$PWF"
before=$(stat -c '%U:%G %a' "$root/etc/postfix/main.cf")
chmod 640 "$root/etc/postfix/main.cf"; chgrp 8 "$root/etc/postfix/main.cf"
"$OP25B" revert -q --root="$root" >"$SCRATCH/out" 2>&1; RC=$?
got=$(stat -c '%U:%g %a' "$root/etc/postfix/main.cf")
check "main.cf ($before) chmod 640 and chgrp 8 after apply: revert keeps them (got $got)" test "$RC/$got" = "0/root:8 640"

# The content is already right, only the owner is not: still fixed (no "nothing to change").
root=$(new_root debian12); pwfile "$root" Zq-same-pw
sub "$root" --relay-user=homeuser --relay-password-file="$PWF"
chown 1000 "$root/etc/postfix/ispinfo" "$root/etc/postfix/ispinfo.db"
sub "$root" --relay-user=homeuser --relay-password-file="$PWF"
got=$(stat -c '%U:%G %a' "$root/etc/postfix/ispinfo" "$root/etc/postfix/ispinfo.db" | sort -u | tr '\n' ' ')
check "same credentials, map chowned to uid 1000 since: taken back to root:root 0600 (got: $got)" test "$RC/$got" = "0/root:root 600 "

# ---- 3. The same relay in another letter case.
root=$(new_root debian12); pwfile "$root" Zq-new-pw
printf '# ISP\n[SMTP.ISP.EXAMPLE.TEST]:587 olduser:Zq-old-pw\n[other.example]:587 someone:else\n[Smtp.Isp.Example.Test]:587\n  olduser2:Zq-old-pw2\n' \
	>"$root/etc/postfix/ispinfo"
chmod 600 "$root/etc/postfix/ispinfo"
sub "$root" --relay-user=homeuser --relay-password-file="$PWF"
check "an entry in upper and in mixed case: postmap -q gives the new credentials" test "$RC/$(q "$root" "[$RELAY]:587")" = "0/homeuser:Zq-new-pw"
check "... one entry left for the relay, the other relay and the comment kept" \
	test "$(grep -ic "^\[$RELAY\]:587" "$root/etc/postfix/ispinfo")/$(grep -c '^\[other.example\]:587 someone:else$' "$root/etc/postfix/ispinfo")/$(grep -c '^# ISP$' "$root/etc/postfix/ispinfo")" = 1/1/1
check "... no old password left in the map" sh -c "! grep -q 'Zq-old-pw' '$root/etc/postfix/ispinfo'"
postmap -c "$root/etc/postfix" "$type:$root/etc/postfix/ispinfo" >"$SCRATCH/pm" 2>&1
check "... postmap compiles it without a duplicate-entry warning" sh -c "! grep -q duplicate '$SCRATCH/pm'"

# ---- 4. No core, no memory reading by others, while the password is held.
# Run as an unprivileged user (so that /proc shows the difference), blocked reading the password
# from a FIFO that the test holds open; proc(5): the files of /proc/PID of a process that is not
# dumpable belong to root.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && getent passwd nobody >/dev/null; then
	root=$(new_root debian12); chmod -R a+rX "$root"; mkfifo "$SCRATCH/fifo"; chmod 666 "$SCRATCH/fifo"
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$OP25B" apply --dry-run --mode=submission \
		--root="$root" --state-dir=/tmp/op25b-nostate --relayhost="$RELAY" --mechanisms=PLAIN --relay-user=u \
		--relay-password-stdin <"$SCRATCH/fifo" >"$SCRATCH/nobody.out" 2>&1 &
	pid=$!
	exec 7>"$SCRATCH/fifo"
	printf 'Zq-partial' >&7 # in memory now, the line not ended: op25b waits for more
	t=$(($(date +%s) + 10)); st=""
	while [ "$(date +%s)" -lt "$t" ]; do
		st=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		grep -q 'pipe_read\|wait_woken' "/proc/$pid/wchan" 2>/dev/null && break
		sleep 0.1
	done
	owner=$(stat -c %U "/proc/$pid/environ" 2>/dev/null) core=$(awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$pid/limits" 2>/dev/null)
	memread=$(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups sh -c "head -c 1 /proc/$pid/environ >/dev/null 2>&1 && echo readable || echo denied")
	exec 7>&-
	wait "$pid"
	check "password being read (state $st): /proc/PID owned by root, not by the user running op25b (got $owner)" test "$owner" = root
	check "... its own user cannot read its memory or environment through /proc (got $memread)" test "$memread" = denied
	check "... core size limit 0 (got $core)" test "$core" = 0/0
else
	skip "no-core check: needs root, setpriv and a nobody user"
fi

# ---- 5. --relay-password-stdin on a terminal: prompt, no echo, Enter ends it (not Ctrl-D).
if command -v python3 >/dev/null; then
	root=$(new_root debian12)
	python3 - "$OP25B" "$root" "$RELAY" >"$SCRATCH/pty.out" 2>&1 <<'EOF'
import os, pty, select, sys, time
op25b, root, relay = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execv(op25b, [op25b, "apply", "--mode=submission", "--root=" + root, "--relayhost=" + relay,
                     "--mechanisms=PLAIN", "--relay-user=homeuser", "--relay-password-stdin"])
out = b""
def pump(until, secs):
    global out
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            out += data
            if until and until in out.lower():
                return True
    return False
prompted = pump(b"password", 5)
print("prompted:", prompted)
os.write(fd, b"Zq-tty-secret\n")
sent = time.time()
pump(None, 10)  # until op25b exits (EIO on the pty) or 10 s
done, until = (0, 0), time.time() + 5
while done == (0, 0) and time.time() < until:  # the pty closes a moment before the exit
    done = os.waitpid(pid, os.WNOHANG)
    time.sleep(0.05) if done == (0, 0) else None
if done == (0, 0):
    print("still running after", round(time.time() - sent, 1), "s: killed")
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print("exit: none")
else:
    print("exit:", os.waitstatus_to_exitcode(done[1]))
print("echoed:", b"Zq-tty-secret" in out)
sys.stdout.flush()
sys.stdout.buffer.write(b"--- output ---\n" + out + b"\n")
EOF
	check "tty: a prompt that asks for the password" grep -q '^prompted: True' "$SCRATCH/pty.out"
	check "tty: Enter ends the password, op25b goes on and exits 0 (no Ctrl-D needed)" grep -q '^exit: 0' "$SCRATCH/pty.out"
	check "tty: the password is not echoed" grep -q '^echoed: False' "$SCRATCH/pty.out"
	check "tty: postmap -q gives the password typed" test "$(q "$root" "[$RELAY]:587" 2>/dev/null)" = homeuser:Zq-tty-secret
else
	skip "tty: python3 missing"
fi

finish
