#!/bin/bash
# t-stack.sh: the two modes stacked, reverted in every order (issue 14 section 2, issue 16 item 3).
# On each fixture: apply X, apply Y, then revert X then Y, revert Y then X, or one plain revert,
# for X,Y = smtps,submission and submission,smtps. Checked with Postfix's and Dovecot's own parsers:
# - after one revert, the mode that stays is configured as if applied alone (postconf -n,
#   postconf -M, doveconf -n), but for the certificate settings: submission keeps the certificate
#   smtps set (its 587 requires TLS before AUTH with it), and never requires TLS without one;
# - status lists each applied mode, never "changed since" for op25b's own later edits;
# - the revert of one mode says that the other is left applied, and by whom; the last one does not;
# - after the last revert every file has its original bytes, and the journal is empty.
. "$(dirname "$0")/lib/testlib.sh"
trap cleanup_scratch EXIT
for c in postconf doveconf; do command -v $c >/dev/null || { skip "no $c"; finish; exit 0; }; done
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
FIXTURES=${STACK_FIXTURES:-debian12 debian13 rhel9 centos7 fedora42 single-file realworld/dovecot-syntax
	realworld/dovecot24-ssl-after-include realworld/dovecot24-ssl-no}
OUT=$SCRATCH/out

pwfile() { mkdir -p "$1/etc/op25b"; printf 'stack-pw\n' >"$1/etc/op25b/relay.secret"; chmod 600 "$1/etc/op25b/relay.secret"; }
apply() { # ROOT MODE
	case $2 in
	smtps) "$OP25B" apply --mode=smtps --root="$1" --cert="$CERT" --key="$KEY" ;;
	submission) "$OP25B" apply --mode=submission --root="$1" --relayhost=smtp.isp.example.test \
		--relay-user=u --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN ;;
	esac >>"$OUT" 2>&1
}
# What Postfix and Dovecot make of a tree; the certificate settings left out with NOCERT=1
# (and 587's TLS options, which follow them).
view() {
	local pf=$1/etc/postfix
	{
		postconf -c "$pf" -n 2>&1
		postconf -c "$pf" -M 2>&1
		[ -f "$1/etc/dovecot/dovecot.conf" ] && doveconf -c "$1/etc/dovecot/dovecot.conf" -n 2>&1
	} | sed "s|$1|ROOT|g" | if [ "${NOCERT:-0}" = 1 ]; then
		sed -E '/^smtpd_tls_(cert|key)_file = /d; s/ -o smtpd_tls_(security_level=encrypt|auth_only=yes)//g'
	else cat; fi
}
other() { [ "$1" = smtps ] && echo submission || echo smtps; }
# The 587 stanza requires TLS only with a certificate to offer.
tls_587_sane() {
	local pf=$1/etc/postfix
	if postconf -c "$pf" -M submission/inet 2>/dev/null | grep -q 'smtpd_tls_security_level=encrypt'; then
		[ -n "$(postconf -c "$pf" -h smtpd_tls_cert_file 2>/dev/null)" ] &&
			[ -n "$(postconf -c "$pf" -h smtpd_tls_key_file 2>/dev/null)" ]
	fi
}
no_changed_since() { ! "$OP25B" status --root="$1" 2>&1 | grep -q 'changed since'; }
applied_modes() { "$OP25B" status --root="$1" 2>&1 | sed -n 's/^\([a-z]*\): applied$/\1/p' | tr '\n' ' '; }

orders=0 bad=0
for fx in $FIXTURES; do
	[ -d "$TOP/fixtures/$fx" ] || { skip "$fx: no fixture"; continue; }
	n=${fx//\//-}
	base=$(new_root "$fx"); pwfile "$base"; cp -a "$base" "$SCRATCH/$n.orig"
	for m in smtps submission; do
		r=$(new_root "$fx"); rm -rf "$r"; cp -a "$SCRATCH/$n.orig" "$r"
		apply "$r" $m || fail "$fx: apply $m alone"
		view "$r" >"$SCRATCH/$n.$m.view"; NOCERT=1 view "$r" >"$SCRATCH/$n.$m.nocert"
	done
	for first in smtps submission; do
		second=$(other $first)
		for how in first-then-second second-then-first all; do
			orders=$((orders + 1))
			d="$fx: $first, $second, revert $how"
			r=$SCRATCH/$n.$first.$how; rm -rf "$r"; cp -a "$SCRATCH/$n.orig" "$r"; : >"$OUT"
			why=""
			apply "$r" $first && apply "$r" $second || why="$why, apply failed"
			[ "$(applied_modes "$r")" = "smtps submission " ] || why="$why, status after both: $(applied_modes "$r")"
			no_changed_since "$r" || why="$why, status says 'changed since' after both applies"
			case $how in
			all) "$OP25B" revert --root="$r" >>"$OUT" 2>&1 || why="$why, revert failed" ;;
			*)
				if [ $how = first-then-second ]; then gone=$first stays=$second; else gone=$second stays=$first; fi
				"$OP25B" revert --mode=$gone --root="$r" >"$SCRATCH/revert.out" 2>&1 || why="$why, revert $gone failed"
				cat "$SCRATCH/revert.out" >>"$OUT"
				grep -qx "$stays: left applied (applied by hand)" "$SCRATCH/revert.out" ||
					why="$why, revert $gone does not say that $stays stays applied"
				[ "$(applied_modes "$r")" = "$stays " ] || why="$why, status after revert $gone: '$(applied_modes "$r")'"
				no_changed_since "$r" || why="$why, status says 'changed since' after revert $gone"
				if [ $stays = submission ]; then
					NOCERT=1 view "$r" >"$SCRATCH/now"
					cmp -s "$SCRATCH/now" "$SCRATCH/$n.submission.nocert" ||
						why="$why, after revert $gone not as submission alone: $(diff "$SCRATCH/$n.submission.nocert" "$SCRATCH/now" | grep '^[<>]' | head -4 | tr '\n' ' ')"
				else
					view "$r" >"$SCRATCH/now"
					cmp -s "$SCRATCH/now" "$SCRATCH/$n.smtps.view" ||
						why="$why, after revert $gone not as smtps alone: $(diff "$SCRATCH/$n.smtps.view" "$SCRATCH/now" | grep '^[<>]' | head -4 | tr '\n' ' ')"
				fi
				tls_587_sane "$r" || why="$why, 587 requires TLS without a certificate"
				"$OP25B" revert --mode=$stays --root="$r" >"$SCRATCH/revert.out" 2>&1 || why="$why, revert $stays failed"
				cat "$SCRATCH/revert.out" >>"$OUT"
				! grep -q "left applied" "$SCRATCH/revert.out" || why="$why, the last revert says a mode is left applied"
				;;
			esac
			left=$(same_tree "$SCRATCH/$n.orig" "$r") || why="$why, not the original bytes after the last revert ${left:-(names or modes differ)}"
			[ -z "$(ls -A "$r/var/lib/op25b/tx" 2>/dev/null)" ] || why="$why, journal not empty"
			if [ -z "$why" ]; then ok "$d"; else fail "$d$why"; bad=$((bad + 1)); sed 's/^/  | /' "$OUT" | grep -i 'warn\|op25b:' | head -5; fi
		done
	done
done
echo "# $orders apply/apply/revert orders on $(echo $FIXTURES | wc -w) fixtures; $bad wrong"

# A mode applied again on top (another relay): two staying transactions after the reverted one
# share the Dovecot drop-in; the last revert still gives back the original tree, drop-in gone.
for fx in $FIXTURES; do
	[ -d "$TOP/fixtures/$fx" ] || continue
	n=${fx//\//-}
	r=$(new_root "$fx"); rm -rf "$r"; cp -a "$SCRATCH/$n.orig" "$r"
	rcs=""
	apply "$r" smtps; rcs="$rcs$?"; apply "$r" submission; rcs="$rcs$?"
	"$OP25B" apply --mode=submission --root="$r" --relayhost='[relay2.example.test]:2525' --relay-user=u2 \
		--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN >>"$OUT" 2>&1; rcs="$rcs$?"
	ntx=$(ls "$r/var/lib/op25b/tx" | wc -l)
	"$OP25B" revert --mode=smtps --root="$r" >>"$OUT" 2>&1; rcs="$rcs$?"
	"$OP25B" revert --mode=submission --root="$r" >>"$OUT" 2>&1; rcs="$rcs$?"
	same=yes; left=$(same_tree "$SCRATCH/$n.orig" "$r") || same="no${left:+ ($left)}"
	[ "$same" = no ] && same="no ($(diff <(cd "$SCRATCH/$n.orig" && find . -path ./var -prune -o -print | sort) \
		<(cd "$r" && find . -path ./var -prune -o -print | sort) | grep '^[<>]' | tr '\n' ' '))"
	check "$fx: smtps, submission, submission again; revert smtps, then submission: exits $rcs, $ntx transactions, original tree: $same" \
		test "$rcs:$ntx:$same" = "00000:3:yes" -a -z "$(ls -A "$r/var/lib/op25b/tx" 2>/dev/null)"
done
# Another tool edits main.cf (postconf -e) after or between the applies; the modes reverted one
# at a time, oldest first (the "dirty" way: only op25b's own edits undone). The node the reverted
# mode set and the staying one needs hands the staying one the admin's value, so the last revert
# gives back the original with only the other tool's edit: never op25b's certificate or SASL left.
other_edit() { postconf -c "$1/etc/postfix" -e myhostname=other.example; }
for fx in $FIXTURES; do
	[ -d "$TOP/fixtures/$fx" ] || continue
	n=${fx//\//-}
	[ -f "$SCRATCH/$n.orig/etc/postfix/main.cf" ] || continue # debian13: no main.cf to edit
	exp=$SCRATCH/$n.edited; rm -rf "$exp"; cp -a "$SCRATCH/$n.orig" "$exp"; other_edit "$exp"
	for seq in "smtps submission E smtps submission" "smtps E submission smtps submission" \
		"submission smtps E submission smtps"; do
		r=$(new_root "$fx"); rm -rf "$r"; cp -a "$SCRATCH/$n.orig" "$r"; : >"$OUT"
		set -- $seq; rcs=""
		for a in "$1" "$2" "$3"; do
			if [ "$a" = E ]; then other_edit "$r"; else apply "$r" "$a"; rcs="$rcs$?"; fi
		done
		"$OP25B" revert --mode="$4" --root="$r" >>"$OUT" 2>&1; rcs="$rcs$?"
		"$OP25B" revert --mode="$5" --root="$r" >>"$OUT" 2>&1; rcs="$rcs$?"
		why=""
		[ "$rcs" = 0000 ] || why="$why, exits $rcs"
		[ "$(view "$r")" = "$(view "$exp")" ] ||
			why="$why, not the original with the other edit: $(diff <(view "$exp") <(view "$r") | grep '^[<>]' | head -4 | tr '\n' ' ')"
		# main.cf as Postfix reads it (above; a setting op25b removed may come back at the end),
		# its mode, and every other file byte for byte.
		[ "$(stat -c %a "$r/etc/postfix/main.cf")" = "$(stat -c %a "$exp/etc/postfix/main.cf")" ] ||
			why="$why, main.cf's mode changed"
		cp "$exp/etc/postfix/main.cf" "$r/etc/postfix/main.cf"
		left=$(same_tree "$exp" "$r") || why="$why, bytes differ ${left:-(names or modes differ)}"
		[ -z "$(ls -A "$r/var/lib/op25b/tx" 2>/dev/null)" ] || why="$why, journal not empty"
		d="$fx: ${seq% * *} (E = postconf -e by another tool), revert $4 then $5"
		if [ -z "$why" ]; then ok "$d"; else fail "$d$why"; fi
	done
done
finish
