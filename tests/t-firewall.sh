#!/bin/bash
# t-firewall.sh: the firewall step (src/system/firewall*.c) against a real firewalld.
#
# firewalld runs in its own network namespace on a private bus with a private permanent config
# (tests/lib/fw.sh); offline cases edit scratch trees; "firewalld not running" and "no firewalld"
# on the real root run in private mount namespaces with scratch directories bound over
# /etc/firewalld and /usr/lib/firewalld. The host's rules and /etc/firewalld are compared
# before/after. Prints "ok - ..." / "FAIL - ..." and "N passed, N failed, N skipped".
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
. tests/lib/fw.sh

pass=0 fail=0 skip=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
skipped() { echo "# skip: $*"; skip=$((skip + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
t() { eval "$1"; }   # check "what" t 'shell condition' (evaluated in this shell)
summary() { echo "$pass passed, $fail failed, $skip skipped"; }
t_start=$(date +%s%N)

skip_all() { skipped "$*"; summary; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "not root"
for c in unshare nsenter mount cc pkg-config timeout sha256sum; do
	command -v "$c" >/dev/null || skip_all "no $c"
done
command -v firewalld >/dev/null && [ -d /usr/lib/firewalld/zones ] || skip_all "firewalld not installed"
for c in firewall-cmd firewall-offline-cmd dbus-daemon busctl nft; do
	command -v "$c" >/dev/null || skip_all "no $c"
done
why=$(fw_check) || skip_all "${why#no: }"

W=$(mktemp -d /tmp/op25b-t-firewall.XXXXXX) || exit 1
S=$W/fw
cleanup() {
	fw_stop "$S" >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then echo "# kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build the driver
if [ -n "${FW_DRIVER:-}" ]; then
	DRV=$FW_DRIVER
else
	DRV=$W/fw-driver
	PKGS="augeas libsystemd libcrypto libssl"
	if ! timeout 300 make -s op25b build/libop25b.a >"$W/make.log" 2>&1 ||
		! cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra $(make -s print-incflags) $(pkg-config --cflags $PKGS) \
			-o "$DRV" tests/tools/fw-driver.c build/libop25b.a $(pkg-config --libs $PKGS) -ldl \
			>>"$W/make.log" 2>&1; then
		sed 's/^/# /' "$W/make.log" | tail -20
		bad "build tests/tools/fw-driver.c against build/libop25b.a"
		summary
		exit 1
	fi
fi

# ---------------------------------------------------------------- host state to compare at the end
host_nft() { timeout 10 nft list ruleset 2>&1; }
host_etc() { [ -d /etc/firewalld ] && find /etc/firewalld -type f -print0 | sort -z | xargs -0r sha256sum; ls -ld /etc/firewalld 2>&1; }
nft_before=$(host_nft)
etc_before=$(host_etc)

# drv ARGS...: run the driver (60 s at most); stdout in $out, stderr in $err, status in $rc.
drv() {
	out=$(timeout 60 "$DRV" "$@" 2>"$W/stderr")
	rc=$?
	err=$(cat "$W/stderr")
}
has() { grep -qx -- "$1" <<<"$out"; }            # an exact output line of the last drv
said() { grep -q -- "$1" <<<"$out$err"; }         # anywhere in the last drv's output

FW=org.fedoraproject.FirewallD1
FP=/org/fedoraproject/FirewallD1
bq() { timeout 10 busctl --auto-start=no call "$FW" "$@" 2>&1; }
rt_has() {   # rt_has ZONE SERVICE: runtime
	[ "$(bq $FP $FW.zone queryService ss "$1" "$2")" = "b true" ]
}
perm_has() {  # perm_has ZONE SERVICE: permanent
	local zp
	zp=$(bq $FP/config $FW.config getZoneByName s "$1" | sed -n 's/^o "\(.*\)"$/\1/p')
	[ -n "$zp" ] && [ "$(bq "$zp" $FW.config.zone queryService s "$2")" = "b true" ]
}
fwcmd() { timeout 30 firewall-cmd "$@" 2>&1; }

# ================================================================ online
echo "# online: firewalld in a private network namespace and bus"
if ! fw_start "$S" 2>"$W/fwstart.err"; then
	sed 's/^/# /' "$W/fwstart.err"
	bad "start firewalld (tests/lib/fw.sh)"
else
	ok "start firewalld in its own network namespace ($(cat "$S/firewalld.pid")) with a private bus"
	export DBUS_SYSTEM_BUS_ADDRESS
	DBUS_SYSTEM_BUS_ADDRESS=$(fw_address "$S")
	before=$(fwcmd --list-services)
	echo "# firewall-cmd --list-services before: $before"

	drv detect
	check "detect: online when firewalld owns its name" has "where online"
	out=$(SYSTEMD_OFFLINE=1 timeout 60 "$DRV" detect 2>&1)
	check "detect: SYSTEMD_OFFLINE=1 -> offline even with firewalld running" has "where offline"
	# One detector (src/system/offline.c) for the firewall and the restarts: systemd's booleans.
	out=$(SYSTEMD_OFFLINE=y timeout 60 "$DRV" detect 2>&1)
	check "detect: SYSTEMD_OFFLINE=y -> offline, as for the restarts (t-units.sh)" has "where offline"

	# pop3s already open (both layers) before op25b: it must survive the revert.
	fwcmd --permanent --add-service=pop3s >/dev/null && fwcmd --add-service=pop3s >/dev/null
	drv open smtps
	check "open smtps: exit 0" test "$rc" = 0
	check "open smtps: zone is the default zone (public)" has "zone public"
	check "open smtps: smtps, imaps added to permanent+runtime, pop3s already there" \
		bash -c '[ "$(grep "^service" <<<"$1")" = "$(printf "service smtps 3\nservice imaps 3\nservice pop3s 0")" ]' _ "$out"
	check "open smtps: tells what it opened and what was open" \
		bash -c 'grep -q "opened smtps, imaps" <<<"$1" && grep -q "already open: pop3s" <<<"$1"' _ "$out"
	for s in smtps imaps pop3s; do
		check "queryService $s: permanent true" perm_has public $s
		check "queryService $s: runtime true" rt_has public $s
	done
	# firewalld 0.9 (Debian 11) adds "ct state { new, untracked }" to each rule.
	check "runtime nft rules in firewalld's netns accept 465 and 993" bash -c \
		'r=$(. tests/lib/fw.sh; fw_nft "$1" list chain inet firewalld filter_IN_public_allow) &&
		 grep -qE "tcp dport 465 (ct state \{ new, untracked \} )?accept" <<<"$r" &&
		 grep -qE "tcp dport 993 (ct state \{ new, untracked \} )?accept" <<<"$r"' _ "$S"
	check "permanent zone XML written by firewalld lists smtps" \
		grep -q '<service name="smtps"/>' "$S/etc-firewalld/zones/public.xml"
	echo "# firewall-cmd --list-services after open: $(fwcmd --list-services)"

	drv open smtps
	check "open smtps again: nothing added (idempotent)" \
		bash -c '! grep -q "^service .* [123]$" <<<"$1" && [ "$2" = 0 ]' _ "$out" "$rc"

	drv --dry-run close smtps:3 imaps:3
	check "dry-run close: reports smtps, imaps as to close" bash -c 'grep -qx "service smtps 3" <<<"$1"' _ "$out"
	check "dry-run close: nothing closed" t 'rt_has public smtps && perm_has public imaps'

	drv close smtps:3 imaps:3 pop3s:0
	check "close: exit 0" test "$rc" = 0
	check "close: smtps gone (permanent)" t '! perm_has public smtps'
	check "close: smtps gone (runtime)" t '! rt_has public smtps'
	check "close: imaps gone (both)" t '! rt_has public imaps && ! perm_has public imaps'
	check "close: pop3s (open before op25b) kept, permanent and runtime" \
		t 'rt_has public pop3s && perm_has public pop3s'
	drv close smtps:3
	check "close again: NOT_ENABLED is success" bash -c '[ "$1" = 0 ] && grep -qx "service smtps 0" <<<"$2"' _ "$rc" "$out"

	# runtime-only imaps (firewall-cmd without --permanent): op25b owns only the permanent layer.
	fwcmd --add-service=imaps >/dev/null
	drv open smtps
	check "runtime-only imaps before: op25b adds it to permanent only (mask 1)" has "service imaps 1"
	drv close smtps:3 imaps:1 pop3s:0
	check "close by mask: the admin's runtime imaps stays, permanent imaps goes" \
		t 'rt_has public imaps && ! perm_has public imaps'
	fwcmd --remove-service=imaps >/dev/null

	names=$(bq $FP/config $FW.config getServiceNames)
	if grep -q '"submission"' <<<"$names"; then
		sub=submission
		echo "# this firewalld knows a service called submission (>= 2.1)"
	else
		sub=smtp-submission
	fi
	drv open submission
	check "open submission: service $sub chosen from getServiceNames" has "service $sub 3"
	check "open submission: runtime has $sub" rt_has public $sub
	drv close $sub:3
	check "close $sub" t '! rt_has public $sub && ! perm_has public $sub'

	# A firewalld that knows "submission" (as 2.1+ does): a service file of that name, reloaded.
	if [ $sub = smtp-submission ]; then
		mkdir -p "$S/etc-firewalld/services"
		cat >"$S/etc-firewalld/services/submission.xml" <<-'EOF'
		<?xml version="1.0" encoding="utf-8"?>
		<service>
		  <short>Mail submission</short>
		  <port protocol="tcp" port="587"/>
		</service>
		EOF
		fwcmd --reload >/dev/null
		drv open submission
		check "daemon with a 'submission' service: that name is used" has "service submission 3"
		check "runtime has submission" rt_has public submission
		drv close submission:3
		check "close submission" t '! rt_has public submission'
	fi

	drv --zone=work open smtps
	check "--zone=work: services go to zone work" \
		bash -c '[ "$1" = 0 ] && grep -qx "zone work" <<<"$2"' _ "$rc" "$out"
	check "--zone=work: runtime and permanent" t 'rt_has work smtps && perm_has work smtps'
	check "--zone=work: public untouched" t '! rt_has public smtps'
	drv --zone=work close smtps:3 imaps:3 pop3s:3
	check "--zone=work close" t '! rt_has work smtps'

	drv --dry-run open smtps
	check "dry-run open: reports what it would open, opens nothing" \
		t 'has "service smtps 3" && grep -q "would open" <<<"$out" && ! rt_has public smtps && ! perm_has public smtps'

	# A zone that exists only in the permanent config (no reload): the permanent add works, the
	# runtime add fails (INVALID_ZONE), and what this call added must be taken back.
	fwcmd --permanent --new-zone=op25btest >/dev/null
	drv --zone=op25btest open smtps
	check "runtime failure: exit 1, permanent adds taken back" \
		t '[ "$rc" != 0 ] && grep -q INVALID_ZONE <<<"$err" && ! perm_has op25btest smtps && ! perm_has op25btest imaps'
	fwcmd --permanent --delete-zone=op25btest >/dev/null

	drv --zone=nosuchzone open smtps
	check "unknown zone: exit 1 with firewalld's reason" \
		bash -c '[ "$1" != 0 ] && grep -q "INVALID_ZONE" <<<"$2"' _ "$rc" "$err"

	if command -v valgrind >/dev/null; then
		VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
		timeout 120 "${VG[@]}" "$DRV" -q open smtps >"$W/vg.out" 2>"$W/vg.err"
		rc1=$?
		timeout 120 "${VG[@]}" "$DRV" -q close smtps:3 imaps:3 pop3s:0 >>"$W/vg.out" 2>>"$W/vg.err"
		rc2=$?
		check "valgrind: online open/close clean" test "$rc1$rc2" = 00
		[ "$rc1$rc2" = 00 ] || sed 's/^/# /' "$W/vg.err" | head -30
	else
		skipped "valgrind not installed"
	fi

	fwcmd --permanent --remove-service=pop3s >/dev/null && fwcmd --remove-service=pop3s >/dev/null
	after=$(fwcmd --list-services)
	echo "# firewall-cmd --list-services after revert: $after"
	check "list-services back to what it was" test "$after" = "$before"

	# ============================================================ firewalld not running
	echo "# firewalld stopped, bus still up: the offline path on the real root"
	fw_stop_firewalld "$S"
	drv detect
	check "detect: firewalld not on the bus -> offline" \
		bash -c 'grep -qx "where offline" <<<"$1" && grep -q "not running" <<<"$1"' _ "$out"
	if [ -d /etc/firewalld ]; then
		H=$W/host-etc-firewalld
		mkdir -p "$H"
		printf 'DefaultZone=home\nFirewallBackend=nftables\n' >"$H/firewalld.conf"
		out=$(timeout 60 unshare --mount --propagation private -- sh -c \
			'mount --bind "$1" /etc/firewalld && exec "$2" --write open smtps' sh "$H" "$DRV" 2>"$W/stderr")
		rc=$?
		err=$(cat "$W/stderr")
		check "not running: exit 0, offline, DefaultZone=home from firewalld.conf" \
			bash -c '[ "$1" = 0 ] && grep -qx "where offline" <<<"$2" && grep -qx "zone home" <<<"$2"' _ "$rc" "$out"
		check "not running: /etc/firewalld/zones/home.xml copied from the stock zone" \
			bash -c 'grep -qx "path /etc/firewalld/zones/home.xml" <<<"$1" &&
				 grep -qx "source /usr/lib/firewalld/zones/home.xml" <<<"$1" && grep -qx "written 1" <<<"$1"' _ "$out"
		list=$(timeout 30 firewall-offline-cmd --system-config "$H" --list-services 2>&1)
		check "not running: firewall-offline-cmd --list-services shows smtps imaps pop3s ($list)" \
			bash -c 'for s in smtps imaps pop3s ssh; do grep -qw "$s" <<<"$1" || exit 1; done' _ "$list"
	else
		skipped "no /etc/firewalld on this host to stand in for"
	fi
	check "never bus-activated firewalld (activation trap untouched)" test ! -e "$S/activated"
	fw_stop "$S"
	drv detect
	check "detect: no bus at all -> offline" has "where offline"
	unset DBUS_SYSTEM_BUS_ADDRESS
fi

# ================================================================ offline with --root
echo "# offline: --root trees, compared with firewall-offline-cmd"
mkroot() {
	mkdir -p "$1/etc/firewalld" "$1/usr/lib" && cp -a /usr/lib/firewalld "$1/usr/lib/" &&
		printf 'DefaultZone=public\nFirewallBackend=nftables\n' >"$1/etc/firewalld/firewalld.conf"
}
R=$W/root R2=$W/ref
mkroot "$R" && mkroot "$R2"
Z=$R/etc/firewalld/zones/public.xml
offl() { timeout 30 firewall-offline-cmd --system-config "$1/etc/firewalld" "${@:2}" 2>&1; }

# firewalld 2.x (Debian 13) ships a 'submission' service; 1.3 and 0.9 only 'smtp-submission'.
SUB=smtp-submission
[ -f /usr/lib/firewalld/services/submission.xml ] && SUB=submission
drv --root="$R" open smtps,submission
check "--root open: exit 0, offline, zone public" \
	bash -c '[ "$1" = 0 ] && grep -qx "where offline" <<<"$2" && grep -qx "zone public" <<<"$2"' _ "$rc" "$out"
check "--root open: no override yet, zones dir missing, written" \
	bash -c 'grep -qx "old-exists 0" <<<"$1" && grep -qx "dir-missing 1" <<<"$1" && grep -qx "written 1" <<<"$1"' _ "$out"
check "--root open: $SUB chosen (the stock name for 587: 'submission' from firewalld 2.0 on)" has "service $SUB 3"
offl "$R2" --add-service=smtps --add-service=imaps --add-service=pop3s --add-service=$SUB >/dev/null
check "--root open: zone XML identical to firewall-offline-cmd's" cmp -s "$Z" "$R2/etc/firewalld/zones/public.xml"
l1=$(offl "$R" --list-services) l2=$(offl "$R2" --list-services)
echo "# firewall-offline-cmd --list-services: $l1"
check "--root open: firewall-offline-cmd --list-services matches ($l1)" test "$l1" = "$l2"
check "--root open: zones dir mode like firewall-offline-cmd's" \
	test "$(stat -c %a "$R/etc/firewalld/zones")" = "$(stat -c %a "$R2/etc/firewalld/zones")"
drv --root="$R" open smtps,submission
check "--root open again: nothing to write" \
	bash -c 'grep -qx "new-bytes -" <<<"$1" && ! grep -q "^service .* [123]$" <<<"$1"' _ "$out"
sum=$(sha256sum <"$Z")
drv --root="$R" --dry-run close smtps:3 imaps:3
check "--root dry-run close: computed, file untouched" \
	bash -c 'grep -qx "service smtps 1" <<<"$1" && grep -qx "written 0" <<<"$1" && [ "$(sha256sum <"$2")" = "$3" ]' _ "$out" "$Z" "$sum"
drv --root="$R" close smtps:3 imaps:3 pop3s:3 $SUB:3
check "--root close: back to the stock services" test "$(offl "$R" --list-services)" = "dhcpv6-client ssh"

offl "$R" --add-service=pop3s >/dev/null
printf '%s\n' '<!-- admin: keep this -->' >>"$Z"
drv --root="$R" open smtps
check "--root: pop3s already there is reported as such" \
	bash -c 'grep -qx "service pop3s 0" <<<"$1" && grep -qx "service smtps 3" <<<"$1" && grep -qx "old-exists 1" <<<"$1"' _ "$out"
check "--root: the admin's comment survives the edit" grep -q 'admin: keep this' "$Z"
drv --root="$R" close smtps:3 imaps:3 pop3s:0
check "--root close: only op25b's services go, pop3s stays" test "$(offl "$R" --list-services)" = "dhcpv6-client pop3s ssh"

mkdir -p "$R/etc/firewalld/services"
cp "$R/usr/lib/firewalld/services/smtp-submission.xml" "$R/etc/firewalld/services/submission.xml"
drv --root="$R" open submission
check "--root with a 'submission' service file: that name is used" has "service submission 3"
check "--root: firewall-offline-cmd lists submission" bash -c 'grep -qw submission <<<"$1"' _ "$(offl "$R" --list-services)"

drv --root="$R" --zone=nosuchzone open smtps
check "--root unknown zone: exit 1, says not found" bash -c '[ "$1" != 0 ] && grep -q "not found" <<<"$2"' _ "$rc" "$err"
printf '<zone>\n  <service name="ssh">\n</zone>\n' >"$R/etc/firewalld/zones/work.xml"
sum=$(sha256sum <"$R/etc/firewalld/zones/work.xml")
drv --root="$R" --zone=work open smtps
check "--root broken zone XML: exit 1, file untouched" \
	bash -c '[ "$1" != 0 ] && grep -qE "cannot parse|syntax op25b can read" <<<"$2" && [ "$(sha256sum <"$3")" = "$4" ]' _ "$rc" "$err" "$R/etc/firewalld/zones/work.xml" "$sum"

if command -v valgrind >/dev/null; then
	rm -rf "$R/etc/firewalld/zones"
	timeout 300 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		"$DRV" -q --root="$R" open smtps,submission >"$W/vg.out" 2>"$W/vg.err"
	rc1=$?
	check "valgrind: offline open clean" test "$rc1" = 0
	[ "$rc1" = 0 ] || sed 's/^/# /' "$W/vg.err" | head -30
fi

# ================================================================ no firewalld
echo "# no firewalld"
mkdir -p "$W/empty"
drv --root="$W/empty" open smtps
check "--root without firewalld: exit 0, absent, notice" \
	bash -c '[ "$1" = 0 ] && grep -qx "where absent" <<<"$2" && grep -q "not installed" <<<"$2"' _ "$rc" "$out"
check "--root without firewalld: the notice names the ports to allow" said "465, 993, 995"
out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$W/no-such-bus timeout 60 unshare --mount --propagation private -- \
	sh -c 'mount -t tmpfs -o size=1m,mode=0755 op25b-test /usr/lib/firewalld && exec "$1" open submission' sh "$DRV" 2>&1)
rc=$?
check "no daemon, no /usr/lib/firewalld: exit 0, absent, notice" \
	bash -c '[ "$1" = 0 ] && grep -qx "where absent" <<<"$2" && grep -q "not installed" <<<"$2" && grep -q 587 <<<"$2"' _ "$rc" "$out"
drv ports smtps,submission
check "router ports: 465 993 995 587" has "465 993 995 587"

# ================================================================ the host
check "host nftables ruleset unchanged" test "$(host_nft)" = "$nft_before"
check "host /etc/firewalld unchanged" test "$(host_etc)" = "$etc_before"
check "no firewalld or dbus-daemon of ours left" bash -c '! [ -e "$1/firewalld.pid" ] && ! [ -e "$1/dbus.pid" ]' _ "$S"

echo "# time: $(( ($(date +%s%N) - t_start) / 1000000 )) ms"
summary
[ "$fail" -eq 0 ]
