#!/bin/bash
# No file outside --root, ever (issue 13 §1). Trees in which each directory on the way to each file
# op25b touches (postfix dir, dovecot dir and conf.d, firewalld and its zones, the state dir's
# parent and the state dir, a password map's dir, /etc itself, op25b.conf's dir) is, in turn, a
# symlink to a directory OUTSIDE the root:
#   abs  an absolute link "$OUT/D": after chroot(ROOT) it names ROOT$OUT/D, which holds a copy of
#        the directory; op25b must work there (as `chroot` would) and never in $OUT/D;
#   rel  a relative link "../../..$OUT/D" climbing out: inside the root ".." stops at the root, so
#        it names ROOT$OUT/D, which does not exist: op25b stops with exit 2 naming the path, or
#        creates what it creates (state dir, zones/) inside the root.
# Each tree gets apply -n, apply (smtps, then submission), status, revert -n and revert. $OUT is a
# sentinel tree: a copy of every directory, same bytes (so a write through the link would find the
# bytes it expects); its hash must never change. Then: ".." in every path option and op25b.conf
# key (exit 2, nothing written), a journal naming "../" or a file op25b does not manage (revert
# refuses, exit 2), and the directory-swap race: R/etc/postfix swapped for a link to $OUT while
# op25b is paused (fault shim) between reading and writing.
. "$(dirname "$0")/lib/testlib.sh"

SO=${FAULT_SO:-$TOP/build/fault/inject.so}
W=$SCRATCH/w
OUT=$SCRATCH/outside
mkdir -p "$W" "$OUT"
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
RELAY=smtp.isp.example.test
PWF=/etc/op25b/relay.secret
LIMIT=30

# Names, types, modes, link targets and bytes of a tree.
snap() {
	(cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# A root with everything op25b may touch: postfix, dovecot, a firewalld tree (a stock zone of our
# own), a password file, an op25b.conf, and a map directory.
fresh() {
	R=$(new_root debian12)
	mkdir -p "$R/etc/op25b" "$R/etc/firewalld/zones" "$R/usr/lib/firewalld/zones" "$R/etc/maps" "$R/var/lib"
	printf 'escape-Secret-1\n' > "$R$PWF"; chmod 600 "$R$PWF"
	printf '<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <short>Public</short>\n  <service name="ssh"/>\n</zone>\n' \
		> "$R/usr/lib/firewalld/zones/public.xml"
	printf 'DefaultZone=public\n' > "$R/etc/firewalld/firewalld.conf"
	printf 'cert = %s\nkey = %s\n' "$CERT" "$KEY" > "$R/etc/op25b/op25b.conf"; chmod 600 "$R/etc/op25b/op25b.conf"
}

# link_out D KIND: make ROOT/D a link to $OUT/D (KIND abs or rel); the outside copy has the same
# bytes. abs: the link's chroot meaning (ROOT$OUT/D) holds the real directory.
link_out() {
	local d=$1 kind=$2 up
	mkdir -p "$(dirname "$OUT/$d")"
	rm -rf "${OUT:?}/$d"; cp -a "$R/$d" "$OUT/$d"
	if [ "$kind" = abs ]; then
		mkdir -p "$(dirname "$R$OUT/$d")"
		mv "$R/$d" "$R$OUT/$d"
		ln -s "$OUT/$d" "$R/$d"
	else
		rm -rf "${R:?}/$d"
		up=$(dirname "$d" | sed 's|[^/][^/]*|..|g')
		ln -s "$up/../../../../../../../../..$OUT/$d" "$R/$d"
	fi
}

# run DESC ARGS...: exit 0 (and then it worked in the root) or 2 naming $NAME; $OUT unchanged.
runs=0
run() {
	local d=$1 out rc why=""
	shift
	runs=$((runs + 1))
	out=$(timeout "$LIMIT" "$OP25B" "$@" 2>&1 </dev/null); rc=$?
	case $rc in
	0) ;;
	2) printf '%s' "$out" | grep -qF -- "$NAME" || why="$why, exit 2 without naming '$NAME'" ;;
	*) why="$why, exit $rc" ;;
	esac
	[ "$SENTINEL" = "$(snap "$OUT")" ] || why="$why, OUTSIDE THE ROOT CHANGED: $(diff <(echo "$SENTINEL") <(snap "$OUT") | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
	if [ -n "$why" ]; then fail "$d${why}"; printf '%s\n' "$out" | sed 's/^/  | /' | head -n 6; return 1; fi
	return 0
}

SMTPS=(--mode=smtps --cert="$CERT" --key="$KEY")
SUB=(--mode=submission --relayhost="$RELAY" --relay-user=homeuser --relay-password-file="$PWF" --mechanisms=PLAIN)
# The map in a directory of its own (etc/maps), so that its directory is linked out too.
MAP=(--password-map=/etc/maps/ispinfo)

# every_verb DESC EXTRA...: the verbs on $R; EXTRA goes to every one.
every_verb() {
	local d=$1 bad=0
	shift
	run "$d: apply -n" apply -n --root="$R" "${SMTPS[@]}" "$@" || bad=1
	run "$d: apply smtps" apply --root="$R" "${SMTPS[@]}" "$@" || bad=1
	run "$d: apply submission" apply --root="$R" "${SUB[@]}" "${MAP[@]}" "$@" || bad=1
	run "$d: status" status --root="$R" "$@" || bad=1
	run "$d: revert -n" revert -n --root="$R" "$@" || bad=1
	run "$d: revert" revert --root="$R" "$@" || bad=1
	[ $bad = 0 ] && ok "$d: apply -n, apply, status, revert -n, revert: nothing outside the root changed"
}

# The directories, and what names them in a message.
DIRS="etc/postfix etc/dovecot etc/dovecot/conf.d etc/firewalld etc/firewalld/zones var/lib var/lib/op25b etc/maps etc/op25b etc"
# matrix PREFIX: every directory, linked both ways, every verb. Run with openat2 (Linux >= 5.6)
# and again with the walk that replaces it on older kernels (OP25B_TEST_NO_OPENAT2=1, rootfs.c).
matrix() {
local P=$1 d kind out rc mc
for d in $DIRS; do
	for kind in abs rel; do
		fresh
		# The state dir exists before the link is made (it is a directory op25b created).
		[ "$d" = var/lib/op25b ] && mkdir -m 700 "$R/var/lib/op25b"
		link_out "$d" "$kind"
		SENTINEL=$(snap "$OUT")
		NAME=$(basename "$d")
		every_verb "$P$kind link $d -> \$OUT/$d"
		# With op25b.conf: read through the link as the admin named it; nothing is written there.
		if [ "$d" = etc/op25b ] || [ "$d" = etc ]; then
			run "$P$kind link $d: --config through it" status --root="$R" --config="$R/etc/op25b/op25b.conf" &&
				ok "$P$kind link $d: --config=FILE read through the link, nothing outside changed"
		fi
		# abs: the chroot meaning of the link exists, so the run works there.
		if [ "$kind" = abs ] && [ "$d" != var/lib/op25b ]; then
			mc=$R/etc/postfix/main.cf
			case $d in etc/postfix | etc) mc=$R$OUT/etc/postfix/main.cf ;; esac
			out=$(timeout "$LIMIT" "$OP25B" apply --root="$R" "${SMTPS[@]}" 2>&1); rc=$?
			if [ $rc = 0 ] && [ ! -L "$mc" ] && grep -q '^smtpd_tls_cert_file' "$mc"; then
				ok "${P}abs link $d: apply works inside the root (the link resolved as after chroot)"
			else
				fail "${P}abs link $d: apply did not work inside the root (exit $rc)"; printf '%s\n' "$out" | sed 's/^/  | /' | head -n 4
			fi
			[ "$SENTINEL" = "$(snap "$OUT")" ] || fail "${P}abs link $d: outside changed by the last apply"
		fi
		rm -rf "${OUT:?}"/* "$R" # also: new_root's names may come again ($RANDOM)
	done
done
}
matrix ""
OP25B_TEST_NO_OPENAT2=1 matrix "[walk] "

# ---- ".." and other tricks in path options and op25b.conf keys: exit 2, nothing written ----
fresh
mkdir -p "$OUT/etc/postfix"; cp -a "$R/etc/postfix/." "$OUT/etc/postfix/"
SENTINEL=$(snap "$OUT")
UP=../../../../../../../../..
refused() { # DESC MESSAGE-PART ARGS...
	local d=$1 m=$2 before out rc
	shift 2
	before=$(snap "$R")
	out=$(timeout "$LIMIT" "$OP25B" "$@" 2>&1 </dev/null); rc=$?
	if [ $rc = 2 ] && printf '%s' "$out" | grep -qF -- "$m" && [ "$before" = "$(snap "$R")" ] &&
		[ "$SENTINEL" = "$(snap "$OUT")" ]; then
		ok "$d"
	else
		fail "$d (exit $rc)"; printf '%s\n' "$out" | sed 's/^/  | /' | head -n 4
	fi
}
refused "'..' in --password-map" "--password-map=/etc/postfix/$UP$OUT/ispinfo: " \
	apply --root="$R" "${SUB[@]}" --password-map="/etc/postfix/$UP$OUT/ispinfo"
refused "'..' in --state-dir" "--state-dir=/var/lib/$UP$OUT/state: " \
	apply --root="$R" "${SMTPS[@]}" --state-dir="/var/lib/$UP$OUT/state"
refused "'..' in --state-dir (status)" "--state-dir=/var/$UP$OUT: " status --root="$R" --state-dir="/var/$UP$OUT"
refused "'..' in --postfix-dir" "--postfix-dir=/etc/$UP$OUT/etc/postfix: " \
	apply --root="$R" "${SMTPS[@]}" --postfix-dir="/etc/$UP$OUT/etc/postfix"
refused "'..' in --dovecot-dir" "--dovecot-dir=/etc/dovecot/..: " apply --root="$R" "${SMTPS[@]}" --dovecot-dir=/etc/dovecot/..
refused "'.' in --postfix-dir" "--postfix-dir=/etc/./postfix: " apply --root="$R" "${SMTPS[@]}" --postfix-dir=/etc/./postfix
refused "'..' in --cert" "--cert=$PKI/$UP$PKI/fullchain.pem: " apply --root="$R" --mode=smtps --cert="$PKI/$UP$PKI/fullchain.pem" --key="$KEY"
refused "'..' in --key" "--key=$PKI/../pki/privkey.pem: " apply --root="$R" --mode=smtps --cert="$CERT" --key="$PKI/../pki/privkey.pem"
refused "'..' in --relay-password-file" "--relay-password-file=/etc/op25b/../op25b/relay.secret: " \
	apply --root="$R" --mode=submission --relayhost="$RELAY" --relay-user=u --relay-password-file=/etc/op25b/../op25b/relay.secret --mechanisms=PLAIN
printf 'postfix_dir = /etc/%s%s/etc/postfix\n' "$UP" "$OUT" > "$W/dotdot.conf"; chmod 600 "$W/dotdot.conf"
refused "'..' in op25b.conf's postfix_dir (FILE:LINE)" "$W/dotdot.conf:1: postfix_dir" \
	apply --root="$R" "${SMTPS[@]}" --config="$W/dotdot.conf"
printf 'password_map = /etc/postfix/../ispinfo\n' > "$W/dotdot2.conf"; chmod 600 "$W/dotdot2.conf"
refused "'..' in op25b.conf's password_map (FILE:LINE)" "$W/dotdot2.conf:1: password_map" \
	apply --root="$R" "${SUB[@]}" --config="$W/dotdot2.conf"
printf 'state_dir = //var/lib/op25b\n' > "$W/slash.conf"; chmod 600 "$W/slash.conf"
refused "'//' in op25b.conf's state_dir (FILE:LINE)" "$W/slash.conf:1: state_dir" \
	status --root="$R" --config="$W/slash.conf"

# ---- the journal names only clean paths in the directories op25b manages ----
journal_case() { # DESC SED-ON-PATH: apply, rewrite the drop-in's path in meta, revert must refuse
	local d=$1 expr=$2 meta victim
	fresh
	timeout "$LIMIT" "$OP25B" apply -q --root="$R" "${SMTPS[@]}" || { fail "$d: setup apply"; return; }
	meta=$R/var/lib/op25b/tx/000001/meta
	dropin=$(grep '^file existed=0' "$meta" | head -n 1 | awk '{print $NF}')
	[ -n "$dropin" ] || { fail "$d: no file created by op25b in the journal"; return; }
	# The victim outside holds exactly what op25b wrote, so a revert would delete it.
	mkdir -p "$OUT/victim"; cp "$R$dropin" "$OUT/victim/file.conf"
	SENTINEL=$(snap "$OUT")
	sed -i "s|^\(file existed=0 .* \)$(printf '%s' "$dropin" | sed 's/[.|]/\\&/g')\$|\1$expr|" "$meta"
	grep -qF "$expr" "$meta" || { fail "$d: could not rewrite the journal"; return; }
	local out rc
	out=$(timeout "$LIMIT" "$OP25B" revert --root="$R" 2>&1); rc=$?
	if [ $rc = 2 ] && printf '%s' "$out" | grep -q 'meta:[0-9]*: corrupted journal\|not in a directory op25b manages' &&
		[ -f "$OUT/victim/file.conf" ] && [ "$SENTINEL" = "$(snap "$OUT")" ]; then
		ok "$d"
	else
		fail "$d (exit $rc; victim $([ -f "$OUT/victim/file.conf" ] && echo kept || echo REMOVED))"
		printf '%s\n' "$out" | sed 's/^/  | /' | head -n 4
	fi
	rm -rf "${OUT:?}"/*
}
journal_case "journal: a path with '../' out of the root is refused" "/etc/dovecot/$UP$OUT/victim/file.conf"
journal_case "journal: a path with '../' inside the root is refused" "/etc/dovecot/../op25b/op25b.conf"
journal_case "journal: a file outside op25b's directories is refused" "/etc/op25b/op25b.conf"

# An interrupted revert's intent is undone only after the journal is checked: a forged one naming a
# file outside op25b's directories (that a forged transaction names too) must not be written back.
fresh
if timeout "$LIMIT" "$OP25B" apply -q --root="$R" "${SMTPS[@]}"; then
	st=$R/var/lib/op25b meta=$R/var/lib/op25b/tx/000001/meta victim=/etc/op25b/victim.conf
	dropin=$(grep '^file existed=0' "$meta" | head -n 1 | awk '{print $NF}')
	sed -i "s|^\(file existed=0 .* \)$(printf '%s' "$dropin" | sed 's/[.|]/\\&/g')\$|\1$victim|" "$meta"
	mkdir -p "$R/etc/op25b"; printf 'the admin\n' > "$R$victim"
	mkdir -m 700 "$st/revert.pending"; printf 'forged\n' > "$st/revert.pending/before.0"
	printf 'op25b-revert 1\nmode smtps\ndrop 1\nfile existed=1 uid=0 gid=0 mode=644 before=%s after=%s postmap=- %s\n' \
		"$(printf 'forged\n' | sha256sum | cut -c1-64)" "$(sha256sum < "$R$victim" | cut -c1-64)" "$victim" > "$st/revert.pending/meta"
	chmod 600 "$st/revert.pending/"*
	out=$(timeout "$LIMIT" "$OP25B" revert --root="$R" 2>&1); rc=$?
	check "journal: a forged revert intent for a file outside op25b's directories: exit 2, the file kept (exit $rc)" \
		bash -c "[ $rc = 2 ] && grep -qx 'the admin' '$R$victim' && printf '%s' \"\$1\" | grep -q 'not in a directory op25b manages'" _ "$out"
else
	fail "forged revert intent: setup apply"
fi

# ---- the directory-swap race: R/etc/postfix swapped for a link to $OUT while op25b waits ----
if make -s -C "$TOP" fault >/dev/null 2>&1 && [ -f "$SO" ]; then
	fresh
	cp -a "$R" "$W/race.base"
	timeout "$LIMIT" env LD_PRELOAD=$SO OP25B_FAULT_COUNT=$W/race.counts "$OP25B" apply -q --root="$R" "${SMTPS[@]}" ||
		fail "race: clean run"
	bad=0 points=0
	# openat2, then the walk (its renames only: the directory fds are the same after that).
	for walk in 0 1; do
	for kind in rename fsync write; do
		[ $walk = 1 ] && [ $kind != rename ] && continue
		count=$(awk -v k="$kind" '$1 == k { print $2 }' "$W/race.counts")
		for ((n = 1; n <= ${count:-0} && n <= 12; n++)); do
			points=$((points + 1))
			rm -rf "$R" "${OUT:?}"/*; cp -a "$W/race.base" "$R"
			mkdir -p "$OUT/etc"; cp -a "$R/etc/postfix" "$R/etc/dovecot" "$OUT/etc/"
			SENTINEL=$(snap "$OUT")
			timeout "$LIMIT" env LD_PRELOAD=$SO OP25B_FAULT=$kind:$n:pause=0.6 OP25B_TEST_NO_OPENAT2=$walk "$OP25B" apply -q --root="$R" "${SMTPS[@]}" \
				>"$W/race.out" 2>&1 &
			pid=$!
			sleep 0.3
			# Both directories at once: the postfix dir and dovecot's conf.d.
			mv "$R/etc/postfix" "$R/etc/postfix.moved" && ln -s "$OUT/etc/postfix" "$R/etc/postfix"
			mv "$R/etc/dovecot/conf.d" "$R/etc/dovecot/conf.d.moved" && ln -s "$OUT/etc/dovecot/conf.d" "$R/etc/dovecot/conf.d"
			wait $pid; rc=$?
			if [ "$SENTINEL" != "$(snap "$OUT")" ]; then
				bad=$((bad + 1)); fail "race: swapped at $kind:$n walk=$walk (exit $rc): written outside the root: $(diff <(echo "$SENTINEL") <(snap "$OUT") | grep '^[<>]' | head -n 3 | tr '\n' ' ')"
			elif [ $rc != 0 ] && [ $rc != 1 ] && [ $rc != 2 ]; then
				bad=$((bad + 1)); fail "race: swapped at $kind:$n: exit $rc"; sed 's/^/  | /' "$W/race.out" | head -n 4
			fi
		done
	done
	done
	[ $bad = 0 ] && ok "race: directories swapped for links outside the root at $points pause points (openat2 and walk): nothing written outside"
else
	skip "race: the fault shim cannot be built (make fault)"
fi

echo "# op25b runs on linked trees: $runs"
finish
