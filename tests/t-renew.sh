#!/bin/bash
# The expansions in `check ... eval '...'` are meant to happen when the check runs.
# shellcheck disable=SC2016
# Certificate renewal with `op25b reload-certs`, against the real Postfix and Dovecot units in a
# real systemd booted in private namespaces (tests/lib/sysd.sh): the certificate is renewed the way
# certbot does it (new files in archive/, the live/ symlinks re-pointed), reload-certs reloads both
# services, and 465 and 993 then serve the new certificate; with the certificate unchanged it
# reloads nothing (same InvocationID, same main PID). Offline: apply --domain installs the certbot
# deploy hook (journaled), revert removes it.
. "$(dirname "$0")/lib/testlib.sh"

OUT=$SCRATCH/out
J() { python3 -c 'import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t[t.index("{"):]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT" "$1"; }

# ---- offline: the certbot deploy hook ----
D=mail.example.test
root=$(new_root debian12)
mkdir -p "$root/etc/letsencrypt/live/$D" "$root/etc/letsencrypt/renewal-hooks/deploy"
cp -a "$PKI/fullchain.pem" "$PKI/privkey.pem" "$root/etc/letsencrypt/live/$D/"
orig=$SCRATCH/orig; cp -a "$root" "$orig"
"$OP25B" apply --mode=smtps --domain=$D --root="$root" --json >"$OUT" 2>"$SCRATCH/err"; rc=$?
hook=$root/etc/letsencrypt/renewal-hooks/deploy/op25b
check "apply --domain: exit 0, the certbot deploy hook is among the files written" \
	bash -c "[ $rc = 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(f[\"path\"] == \"/etc/letsencrypt/renewal-hooks/deploy/op25b\" and f[\"action\"] == \"created\" for f in d[\"files\"]) else 1)' '$OUT'"
check "the hook is an executable script that runs this op25b's reload-certs" \
	bash -c "[ -x '$hook' ] && [ \$(stat -c %a '$hook') = 755 ] && head -1 '$hook' | grep -qx '#!/bin/sh' && grep -q '^exec $(readlink -f "$OP25B") reload-certs -q\$' '$hook'"
"$OP25B" revert --root="$root" -q
check "revert removes the hook (the tree is as before)" same_tree "$orig" "$root"
root2=$(new_root debian12)
mkdir -p "$root2/etc/letsencrypt/live/$D"; cp -a "$PKI/fullchain.pem" "$PKI/privkey.pem" "$root2/etc/letsencrypt/live/$D/"
"$OP25B" apply --mode=smtps --domain=$D --root="$root2" >"$OUT" 2>&1; rc=$?
check "without certbot's hook directory: no hook, a hint at reload-certs" \
	bash -c "[ $rc = 0 ] && [ ! -e '$root2/etc/letsencrypt/renewal-hooks' ] && grep -q 'reload-certs' '$OUT'"

# ---- online: a real renewal under a real systemd ----
SYSD=$TOP/tests/lib/sysd.sh S=$SCRATCH/sysd started=0
skip_rest() { skip "$*"; finish; exit 0; }
[ "$(id -u)" = 0 ] || skip_rest "not root (a real systemd in namespaces needs root)"
for c in postconf dovecot openssl; do command -v "$c" >/dev/null || skip_rest "no $c"; done
why=$("$SYSD" check 2>&1) || skip_rest "systemd harness cannot run here: ${why#no: }"
cleanup() { [ "$started" = 1 ] && { "$SYSD" stop "$S" >/dev/null 2>&1 || echo "# warning: sysd.sh stop failed" >&2; }; cleanup_scratch; }
trap cleanup EXIT
trap 'exit 130' INT TERM
PFU=$(bash "$SYSD" postfix-unit)
if "$SYSD" start "$S" >"$SCRATCH/start.log" 2>&1; then started=1; ok "harness: systemd booted"
else started=1; tail -5 "$SCRATCH/start.log" | sed 's/^/# /'; fail "harness: systemd booted"; finish; exit 1; fi
X() { timeout 200 "$SYSD" exec "$S" "$@"; }
IN=/run/op25b/bin/op25b
install -d "$S/run/op25b/bin" && install -m 755 "$OP25B" "$S$IN" && cp -a "$TOP/lenses" "$S/run/op25b/bin/lenses"
for d in /usr/lib/firewalld /etc/firewalld; do [ -d "$d" ] && X mount -t tmpfs -o size=1m,mode=0755 op25b-nofw "$d"; done

# certbot's layout: live/NAME/*.pem are symlinks into archive/NAME/*N.pem; a renewal adds N+1.
LE=/run/op25b/le
renew() { # N CN
	local a=$S$LE/archive/$D
	mkdir -p "$a" "$S$LE/live/$D"
	make_pki "$SCRATCH/pki$1" 90 "$2"
	cp "$SCRATCH/pki$1/fullchain.pem" "$a/fullchain$1.pem"; cp "$SCRATCH/pki$1/privkey.pem" "$a/privkey$1.pem"
	chmod 600 "$a/privkey$1.pem"
	ln -sfn "../../archive/$D/fullchain$1.pem" "$S$LE/live/$D/fullchain.pem"
	ln -sfn "../../archive/$D/privkey$1.pem" "$S$LE/live/$D/privkey.pem"
}
renew 1 old.example.test
CERT=$LE/live/$D/fullchain.pem KEY=$LE/live/$D/privkey.pem
COMMON=(--state-dir=/run/op25b/state --no-firewall)
op() { X timeout 180 env -u SYSTEMD_OFFLINE -u DBUS_SYSTEM_BUS_ADDRESS "$IN" "$@" >"$OUT" 2>"$SCRATCH/err"; rc=$?; }
served_cn() { X timeout 10 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | sed -n 's/^subject=.*CN *= *//p'; }
ids() { X systemctl show -P InvocationID -P MainPID $PFU dovecot.service | tr '\n' ' '; }

touch -d '-1 min' "$S/etc-postfix/main.cf"
X systemctl start $PFU dovecot.service
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}" --json
check "apply --mode=smtps (online): exit 0, both units reloaded or restarted" J 'd["exit"] == 0 and len(d["units"]) == 2'
before465=$(served_cn 465) before993=$(served_cn 993)
echo "# served before the renewal: 465 CN=$before465, 993 CN=$before993"
check "before: 465 and 993 serve the first certificate" test "$before465:$before993" = "old.example.test:old.example.test"

i0=$(ids)
op reload-certs "${COMMON[@]}" --json
check "reload-certs with the certificate unchanged: exit 0, changed false, no unit reloaded (both services seen)" \
	J 'd["exit"] == 0 and d["changed"] is False and d["units"] == [] and set(d.get("services", {})) == {"postfix", "dovecot"}'
check "  ... the units were not touched (same InvocationID and main PID)" test "$(ids)" = "$i0"

renew 2 new.example.test
op reload-certs "${COMMON[@]}" --json
sed 's/^/#   /' "$SCRATCH/err"
check "reload-certs after the renewal: exit 0, changed, $PFU and dovecot.service reloaded" \
	J 'd["exit"] == 0 and d["changed"] is True and sorted(u["unit"] for u in d["units"]) == sorted(["'"$PFU"'", "dovecot.service"]) and all(u["action"] == "reloaded" for u in d["units"])'
after465=$(served_cn 465) after993=$(served_cn 993)
echo "# served after the renewal: 465 CN=$after465, 993 CN=$after993"
check "after: 465 and 993 serve the renewed certificate" test "$after465:$after993" = "new.example.test:new.example.test"
i1=$(ids)
op reload-certs "${COMMON[@]}" --json
check "reload-certs again: nothing to reload, units untouched" \
	eval 'J "d[\"changed\"] is False and d[\"units\"] == []" && [ "$(ids)" = "$i1" ]'

# --check: the record says the services have the pair in the files, but the ports serve another
# certificate (a record restored from a backup, a server restarted by hand with other files):
# without --check nothing is reloaded, with --check the mismatch is seen and fixed.
renew 3 third.example.test
python3 - "$S$LE/live/$D/fullchain.pem" "$S$LE/live/$D/privkey.pem" >"$SCRATCH/hash3" <<'EOF2'
import hashlib, struct, sys
h = hashlib.sha256()
for p in sys.argv[1:]:
    b = open(p, "rb").read(); h.update(struct.pack("=Q", len(b)) + b)
print(h.hexdigest())
EOF2
printf 'postfix %s\ndovecot %s\n' "$(cat "$SCRATCH/hash3")" "$(cat "$SCRATCH/hash3")" >"$S/run/op25b/state/certs"
i2=$(ids)
op reload-certs "${COMMON[@]}" --json
check "reload-certs (record says pair 3 is served): nothing reloaded, 465 still serves the second certificate" \
	eval 'J "d[\"changed\"] is False and d[\"units\"] == []" && [ "$(ids)" = "$i2" ] && [ "$(served_cn 465)" = new.example.test ]'
op reload-certs --check "${COMMON[@]}" --json
sed 's/^/#   /' "$SCRATCH/err"
check "reload-certs --check: the ports serve another certificate than the files: both reloaded" \
	J 'd["exit"] == 0 and d["changed"] is True and len(d["units"]) == 2 and all(s["reload"] and s["served_sha256"] for s in d["services"].values())'
check "reload-certs --check: 465 and 993 now serve the third certificate" \
	test "$(served_cn 465):$(served_cn 993)" = "third.example.test:third.example.test"
op reload-certs --check "${COMMON[@]}" --json
check "reload-certs --check again: ports and files agree, nothing reloaded" \
	J 'd["changed"] is False and d["units"] == [] and not any(s["reload"] for s in d["services"].values())'

op log "${COMMON[@]}"
check "log lists the reload-certs run" grep -q 'reload-certs' "$OUT"

# The Ansible module (contrib/ansible) online, on this running system: what is applied is "ok",
# state=absent reverts (and reloads), present again applies.
if command -v ansible-playbook >/dev/null && [ -x /usr/bin/python3 ]; then
	A=/run/op25b/ansible; mkdir -p "$S$A"
	# The collection is copied in: the namespaces have their own /tmp, and the checkout may be
	# under the host's (a CI clone in /tmp met "couldn't resolve module op25b.mailserver.op25b").
	cp -a "$TOP/contrib/ansible" "$S$A/collections"
	cat > "$S$A/play.yml" <<EOF2
- hosts: localhost
  connection: local
  gather_facts: false
  vars: { ansible_python_interpreter: /usr/bin/python3 }
  tasks:
    - op25b.mailserver.op25b:
        state: "{{ st }}"
        mode: smtps
        cert: "{{ (st == 'present') | ternary('$CERT', omit) }}"
        key: "{{ (st == 'present') | ternary('$KEY', omit) }}"
        binary: $IN
        state_dir: /run/op25b/state
        no_firewall: true
EOF2
	aplay() { X env ANSIBLE_COLLECTIONS_PATH="$A/collections" ANSIBLE_LOCAL_TEMP=$A/tmp ANSIBLE_HOME=$A/home \
		ANSIBLE_NOCOLOR=1 ansible-playbook -i localhost, -e st="$1" "$A/play.yml" >"$OUT" 2>&1; rc=$?
		grep -E '^(changed|ok|fatal)|^localhost' "$OUT" | sed 's/^/#   /' | cut -c1-150
		grep -qE '^localhost' "$OUT" || tail -n 5 "$OUT" | sed 's/^/#   /'; }
	changed_is() { [ "$rc" = 0 ] && grep -qE "^localhost +: ok=1 +changed=$1 " "$OUT"; }
	aplay present
	check "ansible (online): applied already: ok, changed=0" changed_is 0
	aplay absent
	check "ansible (online): state=absent: changed=1" changed_is 1
	aplay present
	check "ansible (online): state=present again: changed=1" bash -c "grep -qE '^localhost +: ok=1 +changed=1 ' '$OUT'"
	check "ansible (online): 465 serves the certificate again" test "$(served_cn 465)" = "third.example.test"
else
	skip "ansible (online): ansible-core is not installed"
fi
op revert "${COMMON[@]}"
check "revert: exit 0" test "$rc" = 0
finish
