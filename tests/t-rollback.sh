#!/bin/bash
# Nothing of anyone else's is lost by a write or a rollback (issue 14 §1), driven with the fault
# shim (tests/fault/inject.c):
#   - a hand edit landing between op25b's last look at main.cf and the rename that replaces it
#     (the shim pauses op25b right at that rename): op25b must notice, keep the edit and stop;
#   - a hand edit landing after op25b wrote a file and before a later step failed: the rollback
#     leaves that file alone and says so, and puts back the others;
#   - a persistent postmap failure: one rollback, no false "changed by someone else", no journal
#     entry left .pending, and the next run works.
. "$(dirname "$0")/lib/testlib.sh"

SO=${FAULT_SO:-$TOP/build/fault/inject.so}
W=$SCRATCH/w
mkdir -p "$W"
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
RELAY=smtp.isp.example.test
PWF=/etc/op25b/relay.secret
LIMIT=30
# op25b's scratch dirs (/tmp/op25b-WHAT.PID.XXXXXX) of killed runs are removed by op25b itself.
cleanup() { cleanup_scratch; }
trap cleanup EXIT

if ! make -s -C "$TOP" fault >/dev/null 2>&1 && [ ! -f "$SO" ]; then
	skip "the fault shim cannot be built (make fault)"; finish; exit
fi

fresh() { R=$(new_root debian12); mkdir -p "$R/etc/op25b"; printf 'first-Secret-1\n' > "$R$PWF"; chmod 600 "$R$PWF"; }
smtps() { "$OP25B" apply --mode=smtps --root="$R" --cert="$CERT" --key="$KEY" "$@"; }
sub() { "$OP25B" apply --mode=submission --root="$R" --relayhost="$RELAY" --relay-user=u --relay-password-file="$PWF" --mechanisms=PLAIN "$@"; }
# faulty FAULT KIND...: KIND (smtps or sub) under the shim with OP25B_FAULT=FAULT, bounded. The shim
# goes on op25b itself (it takes LD_PRELOAD out of the environment of whatever it is loaded in).
faulty() {
	local f=$1 k=$2 args
	if [ "$k" = smtps ]; then args=(apply --mode=smtps --root="$R" --cert="$CERT" --key="$KEY")
	else args=(apply --mode=submission --root="$R" --relayhost="$RELAY" --relay-user=u --relay-password-file="$PWF" --mechanisms=PLAIN); fi
	timeout "$LIMIT" env LD_PRELOAD="$SO" OP25B_FAULT="$f" "$OP25B" "${args[@]}"
}

# nth KIND PATTERN RUN...: the number of the first call of KIND whose log line matches PATTERN.
nth() {
	local kind=$1 pat=$2; shift 2
	rm -f "$W/log"
	LD_PRELOAD=$SO OP25B_FAULT_LOG=$W/log "$@" >/dev/null 2>&1
	awk -v k="$kind" -v p="$pat" '$1 == k && $0 ~ p { print $2; exit }' "$W/log"
}

# ---- a hand edit in the window before the rename ----
fresh; cp -a "$R" "$W/base"
n=$(nth rename 'main\.cf' smtps); rm -rf "$R"; cp -a "$W/base" "$R"
if [ -z "$n" ]; then
	fail "hand edit at the rename: no rename of main.cf found"
else
	faulty "rename:$n:pause=1.5" smtps >"$W/out" 2>&1 &
	pid=$!
	sleep 0.7
	printf '# a hand edit while op25b works\n' >> "$R/etc/postfix/main.cf"
	wait $pid; rc=$?
	check "hand edit at the rename of main.cf: op25b stops (exit 1, got $rc)" test $rc = 1
	check "hand edit at the rename of main.cf: the edit is still there" grep -qx '# a hand edit while op25b works' "$R/etc/postfix/main.cf"
	check "hand edit at the rename of main.cf: it says so" grep -q 'main.cf: changed by someone else while op25b was working' "$W/out"
	check "hand edit at the rename of main.cf: master.cf is as it was" cmp -s "$R/etc/postfix/master.cf" "$W/base/etc/postfix/master.cf"
	check "hand edit at the rename of main.cf: no journal entry left" test -z "$(ls -A "$R/var/lib/op25b/tx" 2>/dev/null)"
fi

# ---- a hand edit after the write, before a later step fails: the rollback leaves it ----
fresh; cp -a "$R" "$W/base"
n=$(nth rename 'pending -> [^ ]*[0-9]( |$)' smtps); rm -rf "$R"; cp -a "$W/base" "$R"
if [ -z "$n" ]; then
	fail "hand edit before the rollback: no commit rename found"
else
	faulty "rename:$n:pause=1.5,rename:$n:EIO" smtps >"$W/out" 2>&1 &
	pid=$!
	sleep 0.7
	printf '# edited after op25b wrote it\n' >> "$R/etc/postfix/main.cf"
	wait $pid; rc=$?
	check "hand edit before the rollback: exit 1 (got $rc)" test $rc = 1
	check "hand edit before the rollback: main.cf keeps the edit" grep -qx '# edited after op25b wrote it' "$R/etc/postfix/main.cf"
	check "hand edit before the rollback: it says main.cf was not put back" grep -q 'main.cf: not put back' "$W/out"
	check "hand edit before the rollback: master.cf was put back" cmp -s "$R/etc/postfix/master.cf" "$W/base/etc/postfix/master.cf"
fi

# ---- postmap fails, and fails again in the rollback ----
fresh
sub -q >/dev/null 2>&1 || fail "setup: apply submission"
printf 'second-Secret-2\n' > "$R$PWF"
cp -a "$R" "$W/base2"
n=$(nth spawn 'postmap' sub); rm -rf "$R"; cp -a "$W/base2" "$R"
if [ -z "$n" ]; then
	fail "persistent postmap failure: postmap was not run"
else
	out=$(faulty "spawn:$n:EIO,spawn:$((n + 1)):EIO,spawn:$((n + 2)):EIO" sub 2>&1); rc=$?
	check "persistent postmap failure: exit 1 (got $rc)" test $rc = 1
	check "persistent postmap failure: no false 'changed by someone else'" bash -c '! grep -q "changed by someone else" <<<"$1"' _ "$out"
	check "persistent postmap failure: the files are as before" bash -c 'for f in etc/postfix/main.cf etc/postfix/master.cf etc/postfix/ispinfo; do cmp -s "$1/$f" "$2/$f" || exit 1; done' _ "$R" "$W/base2"
	check "persistent postmap failure: no journal entry left pending" bash -c '! ls "$1/var/lib/op25b/tx" | grep -q pending' _ "$R"
	out=$(timeout "$LIMIT" "$OP25B" apply --mode=submission --root="$R" --relayhost="$RELAY" --relay-user=u \
		--relay-password-file="$PWF" --mechanisms=PLAIN 2>&1); rc=$?
	check "persistent postmap failure: the next run works (exit $rc)" test $rc = 0
	[ $rc = 0 ] || printf '%s\n' "$out" | sed 's/^/  | /' | head -n 4
fi

finish
