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
# Stacked modes in the zone (issue 14 section 2, issue 16 item 3): apply X, apply Y, revert X must
# leave the zone exactly as applying Y alone gives it (Y's services on the original, none of X's),
# and reverting Y then gives the original bytes back (or no file, when op25b created it). Both
# orders; the zone absent (made from the stock one) or there before; and an admin's own service
# added between the applies, which stays while op25b's go.
pw() { mkdir -p "$1/etc/op25b"; printf 'pw\n' >"$1/etc/op25b/relay.secret"; chmod 600 "$1/etc/op25b/relay.secret"; }
mode() { # ROOT MODE
	case $2 in
	smtps) smtps "$1" ;;
	submission) "$OP25B" apply --mode=submission --root="$1" --relayhost=smtp.isp.example.test --relay-user=u \
		--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN >"$OUT" 2>&1 ;;
	esac
}
services() { sed -n 's|.*<service name="\([^"]*\)" */>.*|\1|p' "$1/etc/firewalld/zones/public.xml" 2>/dev/null | tr '\n' ' '; }
zone_stacks=0
for start in absent present; do
	for first in smtps submission; do
		if [ $first = smtps ]; then second=submission; else second=smtps; fi
		what="zone $start, $first then $second"
		R=$(mkroot); pw "$R"
		if [ $start = present ]; then
			mkdir -p "$R/etc/firewalld/zones"
			sed 's|<service name="ssh"/>|<service name="ssh"/>\n\n    <service name="cockpit" />|' \
				"$R/usr/lib/firewalld/zones/public.xml" >"$R/etc/firewalld/zones/public.xml"
		fi
		A=$SCRATCH/alone.$start.$second; rm -rf "$A"; cp -a "$R" "$A"; O=$SCRATCH/orig.$start.$first; rm -rf "$O"; cp -a "$R" "$O"
		mode "$A" $second || fail "$what: apply $second alone"
		mode "$R" $first && mode "$R" $second; rc=$?
		"$OP25B" revert --mode=$first --root="$R" >"$OUT" 2>&1 || rc=$?
		zone_stacks=$((zone_stacks + 1))
		check "$what, revert $first: exit 0, the zone as $second alone makes it ($(services "$R"))" \
			eval '[ $rc = 0 ] && cmp -s "$A/etc/firewalld/zones/public.xml" "$R/etc/firewalld/zones/public.xml"'
		"$OP25B" revert --mode=$second --root="$R" >"$OUT" 2>&1; rc=$?
		check "$what, then revert $second: exit 0, the whole tree back byte for byte" \
			eval '[ $rc = 0 ] && same_files "$O" "$R"'

		# The admin opens http between the two applies.
		R=$(mkroot); pw "$R"; rm -rf "$R/etc"; cp -a "$O/etc" "$R/"
		mode "$R" $first; sed -i 's|<service name="ssh"/>|<service name="ssh"/>\n  <service name="http"/>|' \
			"$R/etc/firewalld/zones/public.xml"
		mode "$R" $second; rc=$?
		"$OP25B" revert --mode=$first --root="$R" >"$OUT" 2>&1 || rc=$?
		want=$(services "$A" | sed 's/^ssh /ssh http /')
		check "$what, edited between, revert $first: http and $second's services stay, $first's go ($(services "$R"))" \
			eval '[ $rc = 0 ] && [ "$(services "$R")" = "$want" ]'
		"$OP25B" revert --mode=$second --root="$R" >"$OUT" 2>&1; rc=$?
		want=$(services "$O" | sed 's/^ssh /ssh http /'); [ $start = present ] || want="ssh http dhcpv6-client "
		check "$what, edited between, then revert $second: only http added to the zone ($(services "$R"))" \
			eval '[ $rc = 0 ] && [ "$(services "$R")" = "$want" ]'
	done
done
# The same, both reverted at once: only the admin's http is added to the stock zone.
R=$(mkroot); pw "$R"
mode "$R" smtps; sed -i 's|<service name="ssh"/>|<service name="ssh"/>\n  <service name="http"/>|' "$R/etc/firewalld/zones/public.xml"
mode "$R" submission; rc=$?
"$OP25B" revert --root="$R" >"$OUT" 2>&1 || rc=$?
check "zone edited between smtps and submission, one revert of both: exit 0, only http added ($(services "$R"))" \
	eval '[ $rc = 0 ] && [ "$(services "$R")" = "ssh http dhcpv6-client " ]'
echo "# $zone_stacks stacked applies reverted in the zone"
finish
