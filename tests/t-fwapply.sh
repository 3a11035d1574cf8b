#!/bin/bash
# The expansions in `check ... eval '...'` happen when the check runs (hence SC2016, SC2034).
# shellcheck disable=SC2016,SC2034,SC1091
# t-fwapply.sh: the firewall step of apply/revert end to end through the real ./op25b.
#
# Online: a real firewalld in its own network namespace on a private bus (tests/lib/fw.sh). op25b
# runs on root "/" with DBUS_SYSTEM_BUS_ADDRESS pointing at that bus, --no-restart, and a scratch
# Postfix/Dovecot tree chosen with --postfix-dir/--dovecot-dir/--state-dir. Each op25b run gets a
# private mount namespace in which /etc/firewalld is the daemon's own permanent config directory:
# should op25b ever fall back to the offline path it edits that, never the host's /etc/firewalld.
# Offline: --root trees holding usr/lib/firewalld/zones/public.xml, compared with
# firewall-offline-cmd. The host's nftables ruleset and /etc/firewalld are compared before/after.
# Prints "ok - ...", "FAIL - ...", "skip - ...", "# ..." notes, and "N passed, N failed, N skipped".
. "$(dirname "$0")/lib/testlib.sh"
. "$TOP/tests/lib/fw.sh"

skip_all() { skip "$*"; finish; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "not root (firewalld in a network namespace needs root)"
[ -x "$OP25B" ] || skip_all "$OP25B is not built (make op25b)"
if ! command -v firewalld >/dev/null || [ ! -d /usr/lib/firewalld/zones ]; then skip_all "firewalld is not installed"; fi
for c in firewall-cmd firewall-offline-cmd dbus-daemon busctl nft unshare mount timeout postconf doveconf sha256sum; do
	command -v "$c" >/dev/null || skip_all "no $c"
done
why=$(fw_check) || skip_all "firewalld harness cannot run here: ${why#no: }"
[ -f /usr/lib/firewalld/zones/public.xml ] || skip_all "no stock zone /usr/lib/firewalld/zones/public.xml"
[ -d /etc/firewalld ] || skip_all "no /etc/firewalld to stand in for in op25b's mount namespace"

S=$SCRATCH/fw
cleanup() {
	fw_stop "$S" >/dev/null 2>&1
	cleanup_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM

host_nft() { timeout 10 nft list ruleset 2>&1; }
host_files() {
	for d in /etc/firewalld /var/lib/op25b; do
		if [ -e "$d" ]; then find "$d" -type f -print0 | sort -z | xargs -0r sha256sum; else echo "no $d"; fi
	done
}
nft_before=$(host_nft)
files_before=$(host_files)

make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
OUT=$SCRATCH/out
has() { grep -qF -- "$1" "$OUT"; }
show() { sed 's/^/#   /' "$OUT"; }

FW=org.fedoraproject.FirewallD1
FP=/org/fedoraproject/FirewallD1
bq() { timeout 10 busctl --auto-start=no call "$FW" "$@" 2>&1; }
rt_has() { [ "$(bq $FP $FW.zone queryService ss "$1" "$2")" = "b true" ]; }
perm_has() {
	local zp
	zp=$(bq $FP/config $FW.config getZoneByName s "$1" | sed -n 's/^o "\(.*\)"$/\1/p')
	[ -n "$zp" ] && [ "$(bq "$zp" $FW.config.zone queryService s "$2")" = "b true" ]
}
open_in() { rt_has "$1" "$2" && perm_has "$1" "$2"; }           # both layers
closed_in() { ! rt_has "$1" "$2" && ! perm_has "$1" "$2"; }     # neither layer
fwcmd() { timeout 30 firewall-cmd "$@" 2>&1; }
lists() { echo "runtime: $(fwcmd --list-services); permanent: $(fwcmd --permanent --list-services)"; }

# ================================================================ online
T=$SCRATCH/tree
mkdir -p "$T" && cp -a "$TOP/fixtures/debian12/." "$T/"
ORIG=$SCRATCH/tree.orig
cp -a "$T" "$ORIG"
STATE=$SCRATCH/state
COMMON=(--postfix-dir="$T/etc/postfix" --dovecot-dir="$T/etc/dovecot" --state-dir="$STATE" --no-restart)

# op ARGS...: op25b on root "/", online (SYSTEMD_OFFLINE unset), in a private mount namespace whose
# /etc/firewalld is the daemon's config dir; at most 120 s. Output in $OUT, status in $rc.
op() {
	env -u SYSTEMD_OFFLINE timeout 120 unshare --mount --propagation private -- \
		sh -c 'mount --bind "$0" /etc/firewalld && exec "$@"' "$S/etc-firewalld" "$OP25B" "$@" >"$OUT" 2>&1
	rc=$?
}
journal_fw() { cat "$STATE"/tx/*/meta 2>/dev/null | grep '^firewall ' | tr '\n' ';'; }

if ! fw_start "$S" 2>"$SCRATCH/fwstart.err"; then
	sed 's/^/# /' "$SCRATCH/fwstart.err"
	fail "start firewalld (tests/lib/fw.sh)"
	finish
	exit 1
fi
ok "firewalld running in its own network namespace (pid $(cat "$S/firewalld.pid")) on a private bus"
export DBUS_SYSTEM_BUS_ADDRESS
DBUS_SYSTEM_BUS_ADDRESS=$(fw_address "$S")

# pop3s was opened by the admin before op25b (both layers): it must survive the revert.
fwcmd --permanent --add-service=pop3s >/dev/null && fwcmd --add-service=pop3s >/dev/null
before=$(lists)
echo "# list-services before apply:  $before"

op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}"
echo "# op25b apply --mode=smtps ${COMMON[*]}:"
show
after_apply=$(lists)
echo "# list-services after apply:   $after_apply"
check "apply: exit 0, restart left to the admin (--no-restart)" \
	eval '[ $rc = 0 ] && has "not restarting (--no-restart)"'
check "apply: says it opened smtps, imaps and found pop3s open" \
	eval 'has "opened smtps, imaps (permanent and runtime)" && has "already open: pop3s"'
for s in smtps imaps pop3s; do
	check "apply: $s in zone public, permanent and runtime" open_in public $s
done
check "apply: the journal records what op25b opened (smtps, imaps; not the admin's pop3s)" \
	test "$(journal_fw)" = "firewall public smtps 3;firewall public imaps 3;"
# firewalld 0.9 (Debian 11) writes "tcp dport 465 ct state { new, untracked } accept".
check "apply: firewalld's nft rules (its netns) accept 465, 993, 995" bash -c \
	'r=$(. "$1/tests/lib/fw.sh"; fw_nft "$2" list chain inet firewalld filter_IN_public_allow) &&
	 for p in 465 993 995; do grep -qE "tcp dport $p (ct state \{ new, untracked \} )?accept" <<<"$r" || exit 1; done' _ "$TOP" "$S"
check "apply: the scratch Postfix tree really changed (465 enabled)" \
	eval '[ -n "$(postconf -c "$T/etc/postfix" -M submissions/inet 2>/dev/null)" ]'
check "apply: status lists the files as op25b wrote them" \
	eval 'env -u SYSTEMD_OFFLINE "$OP25B" status "${COMMON[@]}" | grep -qx "smtps: applied"'

op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}"
check "apply again: nothing to change, firewall untouched" \
	eval '[ $rc = 0 ] && has "nothing to change" && ! has "firewall:" && [ "$(lists)" = "$after_apply" ]'

op revert "${COMMON[@]}"
echo "# op25b revert:"
show
after_revert=$(lists)
echo "# list-services after revert:  $after_revert"
check "revert: exit 0, says it closed smtps, imaps" eval '[ $rc = 0 ] && has "closed smtps, imaps (permanent and runtime)"'
check "revert: smtps and imaps closed (permanent and runtime)" eval 'closed_in public smtps && closed_in public imaps'
check "revert: the admin's pop3s kept (permanent and runtime)" open_in public pop3s
check "revert: list-services exactly as before apply" test "$after_revert" = "$before"
check "revert: the Postfix/Dovecot tree byte for byte as before" same_tree "$ORIG" "$T"
check "revert: nothing left in the journal" test -z "$(journal_fw)"

# Stacked modes online (issue 14 section 2): each transaction closes only what it opened, so
# reverting one mode leaves the other's service open (both layers); then the list is as before.
printf 'pw\n' >"$SCRATCH/relay.secret"; chmod 600 "$SCRATCH/relay.secret"
SUB=smtp-submission; fwcmd --get-services | tr " " "\n" | grep -qx submission && SUB=submission
mode() { # MODE
	case $1 in
	smtps) op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}" ;;
	submission) op apply --mode=submission --relayhost="[smtp.isp.example.test]:587" --relay-user=u \
		--relay-password-file="$SCRATCH/relay.secret" --mechanisms=PLAIN --relay-tls=encrypt "${COMMON[@]}" ;;
	esac
}
for first in smtps submission; do
	if [ $first = smtps ]; then second=submission; else second=smtps; fi
	mode $first && [ $rc = 0 ] && mode $second; why=$rc
	op revert --mode=$first "${COMMON[@]}"; why="$why $rc"
	if [ $first = smtps ]; then
		check "online, smtps then submission, revert smtps (exit $why): smtps, imaps closed, $SUB and the admin's pop3s open ($(lists))" \
			eval '[ "$why" = "0 0" ] && closed_in public smtps && closed_in public imaps && open_in public $SUB && open_in public pop3s'
	else
		check "online, submission then smtps, revert submission (exit $why): $SUB closed, smtps, imaps, pop3s open ($(lists))" \
			eval '[ "$why" = "0 0" ] && closed_in public $SUB && open_in public smtps && open_in public imaps && open_in public pop3s'
	fi
	op revert --mode=$second "${COMMON[@]}"
	check "online, $first then $second, then revert $second: exit 0, list-services as before, tree as before" \
		eval '[ $rc = 0 ] && [ "$(lists)" = "$before" ] && same_tree "$ORIG" "$T" && [ -z "$(journal_fw)" ]'
	[ $rc = 0 ] || show
done

# A zone firewalld does not know: the error comes after the files were written; they go back.
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}" --zone=nosuchzone
echo "# op25b apply --zone=nosuchzone:"
show
check "unknown zone: fails with firewalld's reason, files put back byte for byte, nothing opened" \
	eval '[ $rc != 0 ] && has "INVALID_ZONE: nosuchzone" && same_tree "$ORIG" "$T" && [ "$(lists)" = "$before" ]'

# A zone only in the permanent configuration: the permanent adds succeed, the runtime add fails;
# op25b takes its permanent adds back and puts the files back.
fwcmd --permanent --new-zone=op25btest >/dev/null
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}" --zone=op25btest
echo "# op25b apply --zone=op25btest (permanent-only zone):"
show
check "runtime add fails: exit 1, files put back, permanent adds taken back" \
	eval '[ $rc = 1 ] && has "configuration was put back" && same_tree "$ORIG" "$T" &&
	! perm_has op25btest smtps && ! perm_has op25btest imaps && [ -z "$(journal_fw)" ]'
fwcmd --permanent --delete-zone=op25btest >/dev/null

# firewalld stopped between apply and revert: revert edits the permanent zone XML instead, so that
# the services do not come back at firewalld's next start.
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}"
check "apply (again, online): exit 0, smtps and imaps opened" eval '[ $rc = 0 ] && open_in public smtps && open_in public imaps'
fw_stop_firewalld "$S"
op revert "${COMMON[@]}"
echo "# op25b revert with firewalld stopped:"
show
Z=$S/etc-firewalld/zones/public.xml
check "revert, firewalld stopped: exit 0, edits the permanent zone XML" \
	eval '[ $rc = 0 ] && has "firewalld is not running" && has "closed smtps, imaps in /etc/firewalld/zones/public.xml"'
check "revert, firewalld stopped: zone XML without smtps/imaps, with pop3s" \
	eval '! grep -q "name=\"smtps\"\|name=\"imaps\"" "$Z" && grep -q "name=\"pop3s\"" "$Z"'
if fw_start "$S" 2>"$SCRATCH/fwstart.err"; then
	check "firewalld started again: smtps/imaps stay closed, list-services as before ($(lists))" \
		eval '[ "$(lists)" = "$before" ]'
else
	sed 's/^/# /' "$SCRATCH/fwstart.err"
	fail "firewalld started again"
fi
check "revert, firewalld stopped: files byte for byte" same_tree "$ORIG" "$T"

# revert --no-firewall: the services stay open, and op25b says so.
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}"
op revert "${COMMON[@]}" --no-firewall
echo "# op25b revert --no-firewall:"
show
check "revert --no-firewall: exit 0, names what stays open, leaves it open" \
	eval '[ $rc = 0 ] && has "not closing smtps in zone public (--no-firewall)" &&
	has "not closing imaps in zone public (--no-firewall)" && open_in public smtps && open_in public imaps'
for s in smtps imaps; do fwcmd --permanent --remove-service=$s >/dev/null; fwcmd --remove-service=$s >/dev/null; done
check "(cleanup: back to the list before)" eval '[ "$(lists)" = "$before" ]'

# ================================================================ offline: --root
# Run while firewalld is up: --root must not use D-Bus at all.
running_before=$(lists)
mkroot() { # a fixture tree with firewalld's stock public zone
	local r
	r=$(new_root debian12)
	mkdir -p "$r/usr/lib/firewalld/zones" && cp -p /usr/lib/firewalld/zones/public.xml "$r/usr/lib/firewalld/zones/"
	echo "$r"
}
offl() { timeout 30 firewall-offline-cmd --system-config "$1" "${@:2}" 2>&1; }
files_of() { (cd "$1" && find . -path ./var -prune -o -type f -printf '%p %m\n' | sort); }

T2=$(mkroot)
O2=$SCRATCH/t2.orig
cp -a "$T2" "$O2"
op apply --mode=smtps --root="$T2" --cert="$CERT" --key="$KEY"
echo "# op25b apply --root=T2 (no etc/firewalld yet):"
show
Z2=$T2/etc/firewalld/zones/public.xml
check "--root apply: exit 0, offline, created etc/firewalld/zones/public.xml" \
	eval '[ $rc = 0 ] && has "firewall: --root given" && has "created /etc/firewalld/zones/public.xml" && [ -f "$Z2" ]'
# The reference: firewall-offline-cmd on a config dir of its own.
R=$SCRATCH/ref
mkdir -p "$R" && printf 'DefaultZone=public\nFirewallBackend=nftables\n' >"$R/firewalld.conf"
offl "$R" --add-service=smtps --add-service=imaps --add-service=pop3s >/dev/null
check "--root apply: zone XML byte-identical to firewall-offline-cmd's" cmp -s "$Z2" "$R/zones/public.xml"
C=$SCRATCH/copy
mkdir -p "$C" && cp -a "$T2/etc/firewalld/." "$C/" && cp "$R/firewalld.conf" "$C/"
l2=$(offl "$C" --list-services)
echo "# firewall-offline-cmd --list-services of T2 after apply: $l2"
check "--root apply: firewall-offline-cmd lists smtps, imaps, pop3s ($l2)" \
	test "$l2" = "dhcpv6-client imaps pop3s smtps ssh"
check "--root apply: status shows the zone file as op25b wrote it" \
	eval '"$OP25B" status --root="$T2" | grep -q "/etc/firewalld/zones/public.xml: as op25b wrote it"'
check "--root apply: the running firewalld was not touched" eval '[ "$(lists)" = "$running_before" ]'
op revert --root="$T2"
echo "# op25b revert --root=T2:"
show
check "--root revert: exit 0, zone file removed (op25b created it)" \
	eval '[ $rc = 0 ] && has "removed /etc/firewalld/zones/public.xml" && [ ! -e "$Z2" ]'
check "--root revert: every file back byte for byte, no file left over" \
	eval '[ "$(files_of "$O2")" = "$(files_of "$T2")" ] && (cd "$O2" && find . -path ./var -prune -o -type f -print) |
	while read -r f; do cmp -s "$O2/$f" "$T2/$f" || exit 1; done'
left=$(cd "$T2" && find etc/firewalld -depth -type d 2>/dev/null | tr '\n' ' ')
[ -z "$left" ] || echo "# note: revert leaves the (empty) directories op25b created: $left"

# An existing zone override, with pop3s and an admin's comment: only op25b's services come and go.
T3=$(mkroot)
mkdir -p "$T3/etc/firewalld"
printf 'DefaultZone=public\nFirewallBackend=nftables\n' >"$T3/etc/firewalld/firewalld.conf"
offl "$T3/etc/firewalld" --add-service=pop3s >/dev/null
printf '%s\n' '<!-- admin: keep this -->' >>"$T3/etc/firewalld/zones/public.xml"
O3=$SCRATCH/t3.orig
cp -a "$T3" "$O3"
op apply --mode=smtps --root="$T3" --cert="$CERT" --key="$KEY"
echo "# op25b apply --root=T3 (an existing etc/firewalld/zones/public.xml with pop3s):"
show
l3=$(offl "$T3/etc/firewalld" --list-services)
echo "# firewall-offline-cmd --list-services of T3: before $(offl "$O3/etc/firewalld" --list-services); after apply $l3"
check "--root, existing override: exit 0, smtps and imaps added, pop3s and the comment kept" \
	eval '[ $rc = 0 ] && grep -q "^smtps: [a-z]* /etc/firewalld/zones/public.xml" "$OUT" && [ "$l3" = "dhcpv6-client imaps pop3s smtps ssh" ] &&
	grep -q "admin: keep this" "$T3/etc/firewalld/zones/public.xml"'
op revert --root="$T3"
l3=$(offl "$T3/etc/firewalld" --list-services)
echo "# firewall-offline-cmd --list-services of T3 after revert: $l3"
check "--root, existing override: revert gives the original bytes back (whole tree)" same_tree "$O3" "$T3"
check "--root: the running firewalld still untouched" eval '[ "$(lists)" = "$running_before" ]'

# ================================================================ the host
check "firewalld never bus-activated (activation trap untouched)" test ! -e "$S/activated"
fw_stop "$S"
check "firewalld and dbus-daemon stopped by PID" eval '[ ! -e "$S/firewalld.pid" ] && [ ! -e "$S/dbus.pid" ]'
check "host nftables ruleset unchanged" eval '[ "$(host_nft)" = "$nft_before" ]'
check "host /etc/firewalld and /var/lib/op25b unchanged" eval '[ "$(host_files)" = "$files_before" ]'
finish
