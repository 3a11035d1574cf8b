#!/bin/bash
# --json on every verb: one JSON object on stdout (and nothing else there), "changed" as a machine
# can read it, the files and edits, units, firewall and router ports, the schema version; -q never
# hides it; --dry-run --json says what would change and writes nothing; bytes that are not UTF-8
# (a path) come out as valid JSON.
. "$(dirname "$0")/lib/testlib.sh"

CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"
OUT=$SCRATCH/out ERR=$SCRATCH/err

# jq-like checks in Python: J 'expression on d' (d is the object on stdout; fails on invalid JSON,
# on more than one line, or on anything else printed to stdout).
J() { python3 - "$OUT" "$1" <<'PY'
import json, sys
raw = open(sys.argv[1], 'rb').read()
try:
    text = raw.decode('utf-8')          # strict: a JSON text is UTF-8
    lines = text.splitlines()
    assert len(lines) == 1, f"{len(lines)} lines on stdout"
    d = json.loads(lines[0])
except Exception as e:
    print(f"  not one JSON object: {e}: {raw[:300]!r}"); sys.exit(1)
ok = eval(sys.argv[2])
if not ok: print("  got:", json.dumps(d)[:600])
sys.exit(0 if ok else 1)
PY
}
run() { "$OP25B" "$@" >"$OUT" 2>"$ERR"; }

root=$(new_root debian12)
orig=$SCRATCH/orig; cp -a "$root" "$orig"
A=(apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY")

run "${A[@]}" --dry-run --json; rc=$?
check "apply --dry-run --json: exit 0" test $rc = 0
check "apply --dry-run --json: would change, schema 1, verb apply, dry_run" \
	J 'd["changed"] is True and d["schema"] == 1 and d["verb"] == "apply" and d["dry_run"] is True and d["modes"] == ["smtps"]'
check "apply --dry-run --json: main.cf would change, with its edits" \
	J 'any(f["path"] == "/etc/postfix/main.cf" and f["action"] == "changed" and any(e["node"] == "smtpd_tls_cert_file" and e["after"] == "'"$CERT"'" for e in f["edits"]) for f in d["files"])'
check "apply --dry-run --json: the unified diff is in the object" J 'any(l.startswith("+smtpd_tls_cert_file") and l.endswith("'"$CERT"'") for l in d["diff"].splitlines())'
check "apply --dry-run --json: wrote nothing" same_tree "$orig" "$root"

run "${A[@]}" --json -q; rc=$?
check "apply --json -q: exit 0, the object is printed all the same" J 'd["changed"] is True and d["dry_run"] is False and d["exit"] == 0'
check "apply --json: files written, router ports 465 993 995" \
	J '{f["path"] for f in d["files"]} >= {"/etc/postfix/main.cf", "/etc/postfix/master.cf"} and d["router_ports"] == [465, 993, 995]'
check "apply --json --root: units not restarted, and why" J 'd["units"] == [] and d["restart"]["skipped"]'
run "${A[@]}" --json
check "apply --json again: changed false, no file" J 'd["changed"] is False and d["files"] == [] and d["exit"] == 0'
check "apply --json again: the text line went to stderr" grep -q 'nothing to change' "$ERR"

run status --json --root="$root"
check "status --json: smtps applied, files as written, schema" \
	J 'd["schema"] == 1 and d["verb"] == "status" and d["modes"]["smtps"]["applied"] and all(f["state"] == "as-written" for f in d["modes"]["smtps"]["files"])'

run revert --json --root="$root"; rc=$?
check "revert --json: exit 0, changed, files restored" \
	J 'd["changed"] is True and d["verb"] == "revert" and d["modes"] == ["smtps"] and any(f["path"] == "/etc/postfix/main.cf" and f["action"] == "restored" for f in d["files"])'
check "revert: the tree is as before" same_tree "$orig" "$root"
run revert --json --root="$root"
check "revert --json again: changed false" J 'd["changed"] is False and d["files"] == []'
check "revert --json: nothing left applied" J 'd["left_applied"] == []'

# A partial revert says which modes stay applied, and who applied them (null: by hand).
root4=$(new_root debian12)
mkdir -p "$root4/etc/op25b"; printf 'pw\n' >"$root4/etc/op25b/relay.secret"; chmod 600 "$root4/etc/op25b/relay.secret"
"$OP25B" apply --mode=smtps --root="$root4" --cert="$CERT" --key="$KEY" --origin=rpm >/dev/null 2>&1
"$OP25B" apply --mode=submission --root="$root4" --relayhost='[isp.example]:587' --relay-user=u \
	--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN >/dev/null 2>&1
run revert --mode=submission --dry-run --json --root="$root4"
check "revert --mode=submission --dry-run --json: smtps would stay, applied by rpm" \
	J 'd["modes"] == ["submission"] and d["left_applied"] == [{"mode": "smtps", "origins": ["rpm"]}]'
run revert --mode=smtps --json --root="$root4"
check "revert --mode=smtps --json: submission left applied, by hand" \
	J 'd["changed"] is True and d["modes"] == ["smtps"] and d["left_applied"] == [{"mode": "submission", "origins": [None]}]'
run revert --mode=smtps --json --root="$root4"
check "revert --mode=smtps --json again: nothing to revert, submission still left applied" \
	J 'd["changed"] is False and d["left_applied"] == [{"mode": "submission", "origins": [None]}]'
run revert --json --root="$root4"
check "revert --json of the rest: nothing left applied" J 'd["modes"] == ["submission"] and d["left_applied"] == []'
root5=$(new_root debian12); mkdir -p "$root5/var/lib"; echo x >"$root5/var/lib/op25b"
run revert --json --root="$root5"
check "revert --json without a readable journal: left_applied null (not known)" J 'd["exit"] == 2 and d["left_applied"] is None'

# Bad input still gives exit 2 and no half object on stdout.
run apply --mode=smtps --root="$root" --cert="$SCRATCH/nope.pem" --key="$KEY" --json; rc=$?
check "apply --json with a missing certificate: exit 2, an object with exit 2 and the reason on stderr" \
	bash -c "[ $rc = 2 ] && grep -q nope.pem '$ERR'"
check "  ... the object says changed false, exit 2" J 'd["changed"] is False and d["exit"] == 2'

# A postfix directory whose name is not UTF-8: status and apply must still print valid UTF-8 JSON,
# the bad byte as U+FFFD, the rest of the name kept.
root2=$(new_root debian12)
bad=$'/etc/postfix\xff\xc3(x'
mv "$root2/etc/postfix" "$root2$bad"
run apply --mode=smtps --root="$root2" --postfix-dir="$bad" --cert="$CERT" --key="$KEY" --json; rc=$?
check "non-UTF-8 postfix dir: apply exit 0" test $rc = 0
check "non-UTF-8 postfix dir: apply --json is valid UTF-8, bad bytes as U+FFFD" \
	J 'any(f["path"] == "/etc/postfix\ufffd\ufffd(x/main.cf" for f in d["files"])'
run status --json --root="$root2"
check "non-UTF-8 postfix dir: status --json is valid UTF-8 with U+FFFD" \
	J 'any(f["path"] == "/etc/postfix\ufffd\ufffd(x/main.cf" for f in d["modes"]["smtps"]["files"])'

# The submission mode: the password map is a secret file: named, never its content, never an edit.
root3=$(new_root debian12)
printf 'sekrit-pw-123\n' > "$SCRATCH/pw"; chmod 600 "$SCRATCH/pw"
mkdir -p "$root3$SCRATCH"; cp -a "$SCRATCH/pw" "$root3$SCRATCH/pw"
run apply --mode=submission --root="$root3" --relayhost='[isp.example]:587' --relay-user=u \
	--relay-password-file="$SCRATCH/pw" --mechanisms=PLAIN --cert="$CERT" --key="$KEY" --dry-run --json
check "submission --dry-run --json: the map is listed as secret, its content nowhere" \
	bash -c "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(f.get(\"secret\") for f in d[\"files\"]) else 1)' '$OUT' && ! grep -q sekrit '$OUT'"
check "submission --dry-run --json: router port 587" J 'd["router_ports"] == [587]'

# A damaged journal copy (what a revert needs to give back the original) is said by status, the
# verb an admin runs first: revert would refuse.
root6=$(new_root debian12)
"$OP25B" apply -q --mode=smtps --root="$root6" --cert="$CERT" --key="$KEY"
tx=$(ls -d "$root6"/var/lib/op25b/tx/* | head -n 1)
printf 'not the original\n' >"$tx/orig.1"
"$OP25B" status --root="$root6" --json >"$OUT" 2>/dev/null
check "status --json: a copy that no longer matches its hash is listed in journal_damaged" \
	J 'd["journal_damaged"] == ["/etc/postfix/main.cf"] and d["exit"] == 0'
out=$("$OP25B" status --root="$root6" 2>/dev/null)
check "status: says the copy is damaged and that revert will refuse" \
	eval 'printf "%s" "$out" | grep -q "main.cf.s original is missing or damaged: .op25b revert. will refuse"'
rm "$tx/orig.1"
"$OP25B" status --root="$root6" --json >"$OUT" 2>/dev/null
check "status --json: a missing copy too" J 'd["journal_damaged"] == ["/etc/postfix/main.cf"]'
"$OP25B" revert -q --root="$root6" 2>/dev/null; rc=$?
check "  ... and revert indeed refuses (exit 2)" test $rc = 2
"$OP25B" status --root="$root" --json >"$OUT" 2>/dev/null
check "status --json: an intact journal: journal_damaged is empty" J 'd["journal_damaged"] == []'
# Usage errors found while the command line is read (A7 in the attack notes): once the verb is
# known and --json was given (wherever it stands), the one object is printed too: exit 2, changed
# false. Before the verb is known there is no object (the man page says so).
for args in "apply --mode=smtps --root=$root --json" "apply --mode=bogus --json" "--json revert --mode=bogus" \
	"apply --mode=submission --root=$root --relayhost=a\ b --relay-user=u --relay-password-file=/x --json" \
	"status --root=/nonexistent --json" "status --json --no-such-option" "apply --dry-run --mode=bogus --json"; do
	eval "run $args"; rc=$?
	verb=$(eval "set -- $args"; for a; do case $a in -*) ;; *) echo "$a"; break ;; esac; done)
	check "$args: exit 2 and the one object (verb $verb, exit 2, changed false)" \
		J 'd["exit"] == 2 and d["changed"] is False and d["verb"] == "'"$verb"'" and d["schema"] == 1 and '"$rc"' == 2'
	check "  ... and the reason on stderr" test -s "$ERR"
done
run --json; rc=$?
check "--json without a verb: exit 2, nothing on stdout (no verb to report)" test $rc = 2 -a ! -s "$OUT"

finish
