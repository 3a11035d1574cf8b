#!/bin/bash
# t-steps.sh: the no-change fast path covers every step, not only the files (issue 14 section 3).
# An apply with --no-firewall (or another --zone, or --no-restart) followed by one without it
# must do the step it left out, not say "already applied". Offline: --root trees holding
# firewalld's stock zone, so the firewall step edits ROOT/etc/firewalld/zones/ZONE.xml through the
# journal (no D-Bus), and restarts are skipped with a message that says what was not restarted.
. "$(dirname "$0")/lib/testlib.sh"
trap cleanup_scratch EXIT

[ -x "$OP25B" ] || { skip "$OP25B is not built"; finish; exit 0; }
[ -f /usr/lib/firewalld/zones/public.xml ] || { skip "no firewalld zones in /usr/lib/firewalld/zones"; finish; exit 0; }
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
OUT=$SCRATCH/out
mkroot() {
	local r; r=$(new_root "${1:-debian12}")
	mkdir -p "$r/usr/lib/firewalld/zones"
	cp -p /usr/lib/firewalld/zones/public.xml /usr/lib/firewalld/zones/home.xml "$r/usr/lib/firewalld/zones/"
	echo "$r"
}
smtps() { local root=$1; shift; "$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" "$@" >"$OUT" 2>&1; }
has() { grep -qF -- "$1" "$OUT"; }
# Same files, modes and bytes (the empty etc/firewalld/zones a revert leaves is not counted: the
# directories op25b makes stay, as t-fwapply.sh notes).
same_files() {
	[ "$(cd "$1" && find . -path ./var -prune -o -type f -printf '%p %m\n' | sort)" = \
	  "$(cd "$2" && find . -path ./var -prune -o -type f -printf '%p %m\n' | sort)" ] || return 1
	(cd "$1" && find . -path ./var -prune -o -type f -print) | while read -r f; do cmp -s "$1/$f" "$2/$f" || exit 1; done
}
zone_has() { [ -f "$1/etc/firewalld/zones/$2.xml" ] && grep -q "<service name=\"$3\"/>" "$1/etc/firewalld/zones/$2.xml"; }

# --no-firewall, then without it: the zone gets op25b's services.
R=$(mkroot); cp -a "$R" "$SCRATCH/orig1"
smtps "$R" --no-firewall; rc=$?
check "--no-firewall: exit 0, no zone file" eval '[ $rc = 0 ] && [ ! -e "$R/etc/firewalld/zones/public.xml" ]'
smtps "$R"; rc=$?
check "then apply: exit 0 and not 'already applied'" eval '[ $rc = 0 ] && ! has "already applied"'
check "then apply: the zone has smtps, imaps, pop3s" eval 'zone_has "$R" public smtps && zone_has "$R" public imaps && zone_has "$R" public pop3s'
smtps "$R"; rc=$?
check "a third apply: already applied (exit $rc)" eval '[ $rc = 0 ] && has "already applied; nothing to change"'
smtps "$R" --no-firewall; rc=$?
check "--no-firewall after: already applied, the zone left as it is" eval '[ $rc = 0 ] && has "already applied" && zone_has "$R" public smtps'
"$OP25B" revert --root="$R" >"$OUT" 2>&1; rc=$?
check "revert: exit 0, the whole tree back byte for byte" eval '[ $rc = 0 ] && same_files "$SCRATCH/orig1" "$R"'

# Another --zone: that zone is opened too.
R=$(mkroot); cp -a "$R" "$SCRATCH/orig2"
smtps "$R"; smtps "$R" --zone=home; rc=$?
check "--zone=home after the default zone: exit 0, not 'already applied'" eval '[ $rc = 0 ] && ! has "already applied"'
check "--zone=home: home has smtps, public still has it" eval 'zone_has "$R" home smtps && zone_has "$R" public smtps'
smtps "$R" --zone=home; rc=$?
check "--zone=home again: already applied" eval '[ $rc = 0 ] && has "already applied"'
"$OP25B" revert --root="$R" >"$OUT" 2>&1
check "--zone: revert gives the whole tree back" same_files "$SCRATCH/orig2" "$R"

# --no-restart, then without it: the services must be told (here: offline, so it says what to restart).
R=$(mkroot)
smtps "$R" --no-restart --no-firewall
smtps "$R" --no-firewall; rc=$?
check "--no-restart then apply: not 'already applied', says what to restart" \
	eval '[ $rc = 0 ] && ! has "already applied" && has "Postfix and Dovecot to use the new configuration"'
smtps "$R" --no-firewall; rc=$?
check "then again: already applied" eval '[ $rc = 0 ] && has "already applied"'

# The same for submission, on another fixture.
R=$(mkroot rhel9); mkdir -p "$R/etc/op25b"; printf 'pw\n' >"$R/etc/op25b/relay.secret"; chmod 600 "$R/etc/op25b/relay.secret"
sub() { "$OP25B" apply --mode=submission --root="$R" --relayhost=smtp.isp.example.test --relay-user=u \
	--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN "$@" >"$OUT" 2>&1; }
sub --no-firewall; sub; rc=$?
check "submission: --no-firewall then apply opens submission" eval '[ $rc = 0 ] && zone_has "$R" public smtp-submission'
finish
