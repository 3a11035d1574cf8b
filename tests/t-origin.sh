#!/bin/bash
# t-origin.sh: transactions carry who made them (issue 14 section 5). `apply --origin=NAME` records
# NAME in its transaction; `revert --origin=NAME` reverts only the modes whose every transaction
# carries NAME and says, one line each, which applied modes it left alone: one applied by hand, or
# one re-applied by hand on top of NAME's (the admin's too then). `status` shows the origin.
. "$(dirname "$0")/lib/testlib.sh"
trap cleanup_scratch EXIT
command -v postconf >/dev/null || { skip "no postconf"; finish; exit 0; }
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem

smtps() { "$OP25B" apply --mode=smtps --root="$1" --cert="$CERT" --key="$KEY" "${@:2}"; }
submission() {
	mkdir -p "$1/etc/op25b"; printf 'pw\n' >"$1/etc/op25b/relay.secret"; chmod 600 "$1/etc/op25b/relay.secret"
	"$OP25B" apply --mode=submission --root="$1" --relayhost=smtp.isp.example.test --relay-user=u \
		--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN "${@:2}"
}
relay() { postconf -c "$1/etc/postfix" -h relayhost; }
by() { "$OP25B" status --root="$1" | grep -A1 -x "$2: applied" | grep -qx "  applied $3"; } # ROOT MODE WHO
wrapper() { postconf -c "$1/etc/postfix" -M 2>/dev/null | grep -q 'smtpd_tls_wrappermode=yes'; }

# 1. smtps by the package, submission by hand: only smtps goes, one line about submission.
R=$(new_root debian12); orig=$SCRATCH/orig; cp -a "$R" "$orig"
smtps "$R" --origin=rpm >/dev/null 2>&1
submission "$R" >/dev/null 2>&1
check "status: smtps applied by rpm" by "$R" smtps "by rpm"
check "status: submission applied by hand" by "$R" submission "by hand"
check "status --json: who applied each mode (null: by hand)" bash -c \
	"'$OP25B' status --json --root='$R' | python3 -c 'import json,sys; m=json.load(sys.stdin)[\"modes\"]; sys.exit(not (m[\"smtps\"][\"origins\"] == [\"rpm\"] and m[\"submission\"][\"origins\"] == [None]))'"
json=$("$OP25B" revert --origin=rpm --dry-run --json --root="$R" 2>/dev/null)
check "revert --origin=rpm --dry-run --json: smtps would go, submission left applied by hand" python3 -c \
	'import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d["modes"] == ["smtps"] and d["left_applied"] == [{"mode": "submission", "origins": [None]}]))' "$json"
out=$("$OP25B" revert --origin=rpm --quiet --root="$R" 2>&1); rc=$?
check "revert --origin=rpm: exit 0" test $rc -eq 0
check "revert --origin=rpm: smtps reverted (465 gone)" bash -c "$(declare -f wrapper); ! wrapper '$R'"
check "revert --origin=rpm: submission stays (relayhost)" test "$(relay "$R")" = "[smtp.isp.example.test]:587"
check "revert --origin=rpm: exactly one line, about submission, even with --quiet" \
	bash -c "[ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && grep -q 'submission.*left applied' <<<\"\$1\"" _ "$out"
check "status: submission still applied, smtps not" bash -c \
	"'$OP25B' status --root='$R' | grep -qx 'submission: applied' && '$OP25B' status --root='$R' | grep -qx 'smtps: not applied'"
postconf -c "$R/etc/postfix" -n >/dev/null 2>"$SCRATCH/pc.err"
check "postconf -n reads the result without a warning" test ! -s "$SCRATCH/pc.err"
out=$("$OP25B" revert --origin=rpm --root="$R" 2>&1)
check "revert --origin=rpm again: nothing of rpm's left, submission named again" \
	bash -c "grep -q 'nothing to revert' <<<\"\$1\" && grep -q 'submission.*left applied' <<<\"\$1\"" _ "$out"
"$OP25B" revert --root="$R" >/dev/null 2>&1
check "plain revert afterwards: the original bytes" same_tree "$orig/etc/postfix" "$R/etc/postfix"
check "plain revert afterwards: the original bytes (Dovecot)" same_tree "$orig/etc/dovecot" "$R/etc/dovecot"

# 2. smtps by the package, then re-applied by hand with other options on top: the admin's too.
R=$(new_root debian12)
smtps "$R" --origin=rpm >/dev/null 2>&1
mkdir -p "$R/etc/pki2"; cp "$CERT" "$R/etc/pki2/c.pem"; cp "$KEY" "$R/etc/pki2/k.pem"
"$OP25B" apply --mode=smtps --root="$R" --cert=/etc/pki2/c.pem --key=/etc/pki2/k.pem >/dev/null 2>&1
check "status: smtps applied by rpm, then by hand" by "$R" smtps "by rpm, then by hand"
out=$("$OP25B" revert --origin=rpm --root="$R" 2>&1); rc=$?
check "re-applied by hand: revert --origin=rpm exit 0, smtps left applied" bash -c "$(declare -f wrapper); [ $rc = 0 ] && wrapper '$R'"
check "re-applied by hand: it says so, one line" bash -c "[ \"\$(grep -c 'left applied' <<<\"\$1\")\" = 1 ] && grep -q 'smtps: left applied: applied by hand too' <<<\"\$1\"" _ "$out"
json=$("$OP25B" revert --origin=rpm --json --root="$R" 2>/dev/null)
check "re-applied by hand: revert --origin=rpm --json names smtps left applied, by rpm then by hand" python3 -c \
	'import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d["changed"] is False and d["left_applied"] == [{"mode": "smtps", "origins": ["rpm", None]}]))' "$json"

# 3. another origin's mode is named with its origin, never "by hand" (found by attacking, A11).
R=$(new_root debian12)
smtps "$R" --origin=rpm >/dev/null 2>&1
submission "$R" --origin=ansible >/dev/null 2>&1
out=$("$OP25B" revert --origin=other --root="$R" 2>&1); rc=$?
check "revert --origin=other: exit 0, nothing to revert" bash -c "[ $rc = 0 ] && grep -q 'nothing to revert' <<<\"\$1\"" _ "$out"
check "revert --origin=other: smtps left applied, by rpm (not 'by hand')" \
	grep -q "smtps: left applied: applied by rpm (" <<<"$out"
check "revert --origin=other: submission left applied, by ansible" \
	grep -q "submission: left applied: applied by ansible (" <<<"$out"
mkdir -p "$R/etc/pki2"; cp "$CERT" "$R/etc/pki2/c.pem"; cp "$KEY" "$R/etc/pki2/k.pem"
"$OP25B" apply --mode=smtps --root="$R" --cert=/etc/pki2/c.pem --key=/etc/pki2/k.pem --origin=ansible >/dev/null 2>&1
out=$("$OP25B" revert --origin=other --root="$R" 2>&1)
check "re-applied by ansible on rpm's: 'applied by rpm, then by ansible'" \
	grep -q "smtps: left applied: applied by rpm, then by ansible (" <<<"$out"

# 4. the option's checks: a word, only apply and revert.
R=$(new_root debian12)
check "--origin='a b': exit 2" bash -c "'$OP25B' apply --mode=smtps --root='$R' --cert='$CERT' --key='$KEY' --origin='a b' >/dev/null 2>&1; [ \$? = 2 ]"
check "status --origin: exit 2" bash -c "'$OP25B' status --root='$R' --origin=rpm >/dev/null 2>&1; [ \$? = 2 ]"
finish
