#!/bin/bash
# Programs op25b runs (postconf, postmap, doveconf, ...) are found in the fixed PATH
# /usr/sbin:/usr/bin:/sbin:/bin (src/base/spawn.c), never in the caller's PATH: a root run with a
# user's directory first in PATH must not execute that user's postconf. The fakes below record that
# they ran and then run the real program, so apply works either way and only the record tells.
. "$(dirname "$0")/lib/testlib.sh"

make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
FAKE=$SCRATCH/fakebin
LOG=$SCRATCH/ran.log
mkdir -p "$FAKE"
for p in postconf postmap doveconf postfix dovecot systemctl firewall-cmd openssl; do
	real=""
	for d in /usr/sbin /usr/bin /sbin /bin; do [ -x "$d/$p" ] && { real=$d/$p; break; }; done
	printf '#!/bin/sh\necho "%s $*" >> %s\n%s\n' "$p" "$LOG" \
		"${real:+exec $real \"\$@\"}" > "$FAKE/$p"
	chmod 755 "$FAKE/$p"
done

R=$(new_root debian12)
mkdir -p "$R/etc/op25b"; printf 'path-Secret-1\n' > "$R/etc/op25b/relay.secret"; chmod 600 "$R/etc/op25b/relay.secret"

PATH=$FAKE:$PATH "$OP25B" apply --mode=smtps --root="$R" --cert="$CERT" --key="$KEY" >"$SCRATCH/out" 2>&1
check "apply smtps with a fake postconf first in PATH: exit 0" [ $? = 0 ]
PATH=$FAKE:$PATH "$OP25B" apply --mode=submission --root="$R" --relayhost=smtp.isp.example.test \
	--relay-user=u --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN >>"$SCRATCH/out" 2>&1
check "apply submission with a fake postmap first in PATH: exit 0" [ $? = 0 ]
check "the map was compiled (by the real postmap)" [ -s "$R/etc/postfix/ispinfo.db" ]
check "the checked main.cf has the smtps and relay settings" \
	grep -q '^relayhost = \[smtp.isp.example.test\]' "$R/etc/postfix/main.cf"
PATH=$FAKE:$PATH "$OP25B" status --root="$R" >>"$SCRATCH/out" 2>&1
PATH=$FAKE:$PATH "$OP25B" revert --root="$R" >>"$SCRATCH/out" 2>&1
check "revert with the fakes first in PATH: exit 0" [ $? = 0 ]
if [ -s "$LOG" ]; then fail "no program from the caller's PATH ran (ran: $(sort -u "$LOG" | cut -d' ' -f1 | tr '\n' ' '))"
else ok "no program from the caller's PATH ran"; fi
[ -s "$LOG" ] || [ -z "${VERBOSE:-}" ] || cat "$SCRATCH/out"
finish
