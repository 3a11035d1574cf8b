#!/bin/bash
# Concurrency: op25b runs at the same time serialize on a flock of the root directory or fail cleanly, and a
# file changed by someone else between op25b's read and its write is detected (-ESTALE: "changed by
# someone else") and not overwritten. The races are made deterministic with the fault shim
# (tests/fault/inject.c): the first run pauses at its first rename, holding the lock, while the test
# starts the second run or edits a file.
. "$(dirname "$0")/lib/testlib.sh"

SO=${FAULT_SO:-$TOP/build/fault/inject.so}
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
RELAY=smtp.isp.example.test
W=$SCRATCH/w
mkdir -p "$W"
make_pki "$PKI"
BG=""
cleanup() {
	for p in $BG; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	cleanup_scratch
}
trap cleanup EXIT

if ! make -s -C "$TOP" fault >/dev/null 2>&1 && [ ! -f "$SO" ]; then
	skip "concurrency: cannot build the fault shim $SO (make fault)"; finish; exit
fi
if ! command -v flock >/dev/null; then
	skip "concurrency: flock(1) missing"; finish; exit
fi

pwfile() { mkdir -p "$1/etc/op25b"; printf 'conc-pw\n' > "$1/etc/op25b/relay.secret"; chmod 600 "$1/etc/op25b/relay.secret"; }
smtps() { local root=$1; shift; "$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" "$@"; }
submission() {
	local root=$1; shift
	"$OP25B" apply --mode=submission --root="$root" --relayhost="$RELAY" --relay-user=u \
		--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN "$@"
}
revert() { local root=$1; shift; "$OP25B" revert --root="$root" "$@"; }

# A fixture tree with an (empty) state dir, as after a first apply and revert: the lock exists.
fresh() {
	local root; root=$(new_root debian12); pwfile "$root"
	mkdir -p "$root/var/lib/op25b"; chmod 700 "$root/var/lib/op25b"
	echo "$root"
}

# paused NAME KIND[#N] SECONDS CMD ARGS...: run CMD in the background, paused SECONDS at its first
# (Nth) call of KIND (rename: op25b holds the lock there); returns once it is paused. Its pid in
# PID_NAME.
paused() {
	local name=$1 kind=${2%#*} nth=1 secs=$3
	case $2 in *'#'*) nth=${2#*#} ;; esac
	shift 3
	rm -f "$W/$name.log"
	LD_PRELOAD=$SO OP25B_FAULT=$kind:$nth:pause=$secs OP25B_FAULT_LOG=$W/$name.log "$@" >"$W/$name.out" 2>&1 &
	local pid=$!
	BG="$BG $pid"
	eval "PID_$name=$pid"
	for _ in $(seq 100); do
		grep -q "^$kind $nth " "$W/$name.log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "  $name did not reach its first $kind:"; cat "$W/$name.out"
	return 1
}

# Same names, modes and bytes; a compiled table (*.db, Berkeley DB) by name and mode only.
same_state() {
	[ "$(tree_list "$1" | grep -v '\.db ')" = "$(tree_list "$2" | grep -v '\.db ')" ] &&
		[ "$(cd "$1" && find . -name '*.db' -printf '%p %m\n' | sort)" = "$(cd "$2" && find . -name '*.db' -printf '%p %m\n' | sort)" ] || return 1
	(cd "$1" && find . -path ./var/lib/op25b -prune -o -type f ! -name '*.db' -print) | while read -r f; do
		cmp -s "$1/$f" "$2/$f" || { echo "  differs: $f"; return 1; }
	done
}

waitfor() { wait "$1"; }

# Expected final states, from runs one after the other.
exp_root=$(fresh); cp -a "$exp_root" "$W/orig"
smtps "$exp_root" -q && submission "$exp_root" -q 2>/dev/null && cp -a "$exp_root" "$W/both"
exp2=$(fresh); submission "$exp2" -q 2>/dev/null && cp -a "$exp2" "$W/sub-only"

# 1. apply/apply: the second waits for the lock, then applies on top of the first.
root=$(fresh)
if paused A rename 2 smtps "$root"; then
	t0=$(date +%s.%N)
	submission "$root" --timeout=30 >"$W/B.out" 2>&1; rcB=$?
	waitfor "$PID_A"; rcA=$?
	check "apply/apply: both exit 0 (A $rcA, B $rcB)" test "$rcA/$rcB" = 0/0
	check "apply/apply: the second said it waited for the lock" grep -q 'waiting for another op25b run to finish' "$W/B.out"
	check "apply/apply: the second finished after the first released the lock" \
		awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a >= 1.0) }'
	check "apply/apply: the result is both modes, as if run one after the other" same_state "$W/both" "$root"
	check "apply/apply: status shows both modes applied" test "$("$OP25B" status --root="$root" | grep -c ': applied$')" = 2
	revert "$root" -q
	check "apply/apply: revert gives back the original" same_tree "$W/orig" "$root"
else
	fail "apply/apply: setup"
fi

# 2. revert/apply: apply waits for the revert, then plans on the reverted files.
root=$(fresh); smtps "$root" -q
if paused R rename 2 revert "$root"; then
	submission "$root" --timeout=30 >"$W/B.out" 2>&1; rcB=$?
	waitfor "$PID_R"; rcR=$?
	check "revert/apply: both exit 0 (revert $rcR, apply $rcB)" test "$rcR/$rcB" = 0/0
	check "revert/apply: the apply waited for the lock" grep -q 'waiting for another op25b run' "$W/B.out"
	check "revert/apply: the result is submission alone on the original files" same_state "$W/sub-only" "$root"
else
	fail "revert/apply: setup"
fi

# 3. apply/revert: the revert waits, then reverts what the apply did.
root=$(fresh)
if paused A rename 2 smtps "$root"; then
	revert "$root" --timeout=30 >"$W/B.out" 2>&1; rcB=$?
	waitfor "$PID_A"; rcA=$?
	check "apply/revert: both exit 0 (apply $rcA, revert $rcB)" test "$rcA/$rcB" = 0/0
	check "apply/revert: the revert reverted the apply" sh -c "grep -q 'smtps: reverted' '$W/B.out'"
	check "apply/revert: original bytes" same_tree "$W/orig" "$root"
else
	fail "apply/revert: setup"
fi

# 4. Lock held longer than --timeout: fail cleanly (exit 1, the message, nothing touched by it).
root=$(fresh)
if paused A rename 4 smtps "$root"; then
	cp -a "$root" "$W/during"
	t0=$(date +%s)
	submission "$root" --timeout=1 >"$W/B.out" 2>&1; rcB=$?
	t1=$(date +%s)
	check "lock timeout: exit 1 (got $rcB)" test "$rcB" = 1
	check "lock timeout: says another run holds the lock" grep -q 'another op25b run holds the lock; try again later' "$W/B.out"
	check "lock timeout: gave up within its --timeout ($((t1 - t0)) s)" test $((t1 - t0)) -le 3
	check "lock timeout: the waiting run wrote nothing" same_tree "$W/during" "$root"
	waitfor "$PID_A"; rcA=$?
	check "lock timeout: the first run still finished (exit $rcA)" test "$rcA" = 0
	revert "$root" -q --mode=smtps
	check "lock timeout: revert gives back the original" same_tree "$W/orig" "$root"
else
	fail "lock timeout: setup"
fi
root=$(fresh)
if paused A rename 4 smtps "$root"; then
	revert "$root" --timeout=1 >"$W/B.out" 2>&1; rcB=$?
	check "revert during an apply, --timeout=1: exit 1 with the lock message" \
		sh -c "[ $rcB = 1 ] && grep -q 'holds the lock' '$W/B.out'"
	"$OP25B" status --root="$root" --timeout=1 >"$W/S.out" 2>&1; rcS=$?
	check "status during an apply, --timeout=1: exit 1 with the lock message" \
		sh -c "[ $rcS = 1 ] && grep -q 'holds the lock' '$W/S.out'"
	waitfor "$PID_A"
fi

# 5. Someone edits main.cf while apply is between its read and its write: apply stops, puts back
#    what it wrote, and the edit is kept.
root=$(fresh)
if paused A rename 2 smtps "$root"; then
	printf '# edited by the admin while op25b ran\n' >> "$root/etc/postfix/main.cf"
	cp "$root/etc/postfix/main.cf" "$W/main.edited"
	waitfor "$PID_A"; rcA=$?
	check "stale main.cf: apply exit 1 (got $rcA)" test "$rcA" = 1
	check "stale main.cf: 'changed by someone else' named the file" \
		grep -q 'etc/postfix/main.cf: changed by someone else while op25b was working; not overwritten' "$W/A.out"
	check "stale main.cf: the admin's edit is kept byte for byte" cmp -s "$W/main.edited" "$root/etc/postfix/main.cf"
	cp "$W/main.edited" "$W/expect.main"; cp -a "$W/orig" "$W/orig.edited"; cp "$W/main.edited" "$W/orig.edited/etc/postfix/main.cf"
	check "stale main.cf: every other file put back" same_tree "$W/orig.edited" "$root"
	check "stale main.cf: no transaction left in the journal" test -z "$(ls -A "$root/var/lib/op25b/tx" 2>/dev/null)"
	smtps "$root" -q; rc=$?
	check "stale main.cf: a new apply works on the edited file (exit $rc)" sh -c "[ $rc = 0 ] && grep -q 'edited by the admin' '$root/etc/postfix/main.cf'"
	revert "$root" -q
	check "stale main.cf: its revert keeps the admin's edit" same_tree "$W/orig.edited" "$root"
else
	fail "stale main.cf: setup"
fi

# 6. The same during a revert: master.cf is renamed first (paused there), main.cf edited meanwhile.
root=$(fresh); smtps "$root" -q; cp -a "$root" "$W/applied"
if paused R rename 2 revert "$root"; then
	printf '# edited during the revert\n' >> "$root/etc/postfix/main.cf"
	cp "$root/etc/postfix/main.cf" "$W/main.edited2"
	waitfor "$PID_R"; rcR=$?
	check "stale file during revert: exit 1 (got $rcR)" test "$rcR" = 1
	check "stale file during revert: detected" grep -q 'changed by someone else' "$W/R.out"
	check "stale file during revert: the edit kept" cmp -s "$W/main.edited2" "$root/etc/postfix/main.cf"
	cp -a "$W/applied" "$W/applied.edited"; cp "$W/main.edited2" "$W/applied.edited/etc/postfix/main.cf"
	check "stale file during revert: the files already reverted were put back" same_tree "$W/applied.edited" "$root"
	revert "$root" -q; rc=$?
	check "stale file during revert: a second revert works (exit $rc), keeps the edit" \
		sh -c "[ $rc = 0 ] && grep -q 'edited during the revert' '$root/etc/postfix/main.cf' && \
		       [ \"\$(postconf -c '$root/etc/postfix' -h smtpd_tls_cert_file)\" = /etc/ssl/certs/ssl-cert-snakeoil.pem ]"
else
	fail "stale file during revert: setup"
fi

# 7. A first run ever (no state dir yet) takes the same lock before it reads a byte: a second
#    first run waits, then re-reads and applies on top. A is paused at its second spawn, the
#    postconf check of its new files: it has read and planned everything by then.
root=$(new_root debian12); pwfile "$root"
if paused A 'spawn#2' 3 smtps "$root"; then
	submission "$root" --timeout=30 >"$W/B.out" 2>&1; rcB=$?
	waitfor "$PID_A"; rcA=$?
	check "first runs: both exit 0 (A $rcA, B $rcB)" test "$rcA/$rcB" = 0/0
	check "first runs: the second waited for the lock" grep -q 'waiting for another op25b run' "$W/B.out"
	check "first runs: the tree is both modes, as if run one after the other" same_state "$W/both" "$root"
	check "first runs: two transactions in the journal" test "$(ls "$root/var/lib/op25b/tx" | wc -l)" = 2
	revert "$root" -q
	check "first runs: revert gives back the original" same_tree "$W/orig" "$root"
else
	fail "first runs: setup"
fi

# 7b. Four identical first runs at once, no state dir and no pause, 20 rounds: every round ends in
#     the applied tree (one run applied, three waited and found it applied), never half-original.
exp3=$(new_root debian12); smtps "$exp3" -q && cp -a "$exp3" "$W/smtps-only"
good=0
for round in $(seq 20); do
	root=$(new_root debian12); BG=""
	for i in 1 2 3 4; do smtps "$root" --timeout=60 >"$W/f$i.out" 2>&1 & BG="$BG $!"; done
	rcs=""; for p in $BG; do wait "$p" 2>/dev/null; rcs="$rcs$?"; done; BG=""
	if [ "$rcs" = 0000 ] && same_state "$W/smtps-only" "$root" >/dev/null &&
		[ "$(cat "$W"/f?.out | grep -c 'already applied; nothing to change')" = 3 ] &&
		"$OP25B" status --root="$root" | grep -q '^smtps: applied' &&
		! "$OP25B" status --root="$root" | grep -q 'changed since'; then
		good=$((good + 1))
	else
		echo "  round $round: exits $rcs"; sed 's/^/    /' "$W"/f?.out | head -20
	fi
	rm -rf "$root"
done
check "4 first runs at once: the applied tree in $good of 20 rounds" test "$good" = 20

# 8. Four identical applies at once, no pause: one changes the files, the others find nothing to
#    change (they waited for the lock); one transaction.
root=$(fresh); BG=""
for i in 1 2 3 4; do smtps "$root" --timeout=60 >"$W/p$i.out" 2>&1 & BG="$BG $!"; done
rcs=""; for p in $BG; do wait "$p" 2>/dev/null; rcs="$rcs$?"; done; BG=""
check "4 applies at once: all exit 0 ($rcs)" test "$rcs" = 0000
check "4 applies at once: exactly one wrote, three found nothing to change" \
	test "$(cat "$W"/p?.out | grep -c 'already applied; nothing to change')" = 3
check "4 applies at once: one transaction" test "$(ls "$root/var/lib/op25b/tx" | wc -l)" = 1
revert "$root" -q
check "4 applies at once: revert gives back the original" same_tree "$W/orig" "$root"

# 9. Applies and reverts interleaved at random for a few seconds: every run exits 0 or 1 (never 2,
#    never a crash), and afterwards one revert gives back the original bytes.
root=$(fresh)
end=$((SECONDS + 6)) bad=0 n=0
while [ $SECONDS -lt $end ]; do
	for op in smtps submission revert; do
		case $op in
		smtps) smtps "$root" -q --timeout=30 ;;
		submission) submission "$root" -q --timeout=30 ;;
		revert) revert "$root" -q --timeout=30 ;;
		esac >>"$W/mix.out" 2>&1 &
		BG="$BG $!"
	done
	for p in $BG; do wait "$p"; rc=$?; n=$((n + 1)); [ $rc -le 1 ] || bad=$((bad + 1)); done; BG=""
done
check "$n mixed concurrent runs: none exited with a status other than 0 or 1 ($bad did)" test "$bad" = 0
revert "$root" -q
check "mixed runs: a final revert gives back the original" same_tree "$W/orig" "$root"
check "mixed runs: journal empty" test -z "$(ls -A "$root/var/lib/op25b/tx" 2>/dev/null)"

finish
