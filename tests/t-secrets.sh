#!/bin/bash
# The ISP password: in no output (normal, verbose, dry-run diff, status, JSON, errors), in no file
# readable by others (map, compiled table, journal copies: 0600 in 0700 directories, temporary
# files), in no argv and no environment of any process op25b starts (strace -f of every execve,
# and the fault shim's log of every posix_spawn), and wiped from memory:
#   - the shim checks every free(3) and moving realloc(3): memory released while it still holds
#     the password is reported with its backtrace (deterministic: it does not depend on whether
#     the heap reused the block);
#   - the shim dumps every writable mapping after main() returned, and the dump is grepped (a dump
#     taken while postmap runs is the control: it holds the password).
# Every release of memory still holding the password fails (the password is read once, by
# facts_secret() of src/facts/facts.c, and the map is built in buffers that are wiped: relay-map.c).
. "$(dirname "$0")/lib/testlib.sh"

SO=${FAULT_SO:-$TOP/build/fault/inject.so}
W=$SCRATCH/w
mkdir -p "$W"
make_pki "$PKI"
RELAY=smtp.isp.example.test
PWF=/etc/op25b/relay.secret
PW1='Zq-first:secret pass#1'
PW2='Zq-second-SECRET-2'
PW3='Zq-stdin-secret-3'
# op25b's scratch dirs (/tmp/op25b-WHAT.PID.XXXXXX) of killed runs are removed by op25b itself.
cleanup() { cleanup_scratch; }
trap cleanup EXIT; [ -n "${KEEP:-}" ] && trap - EXIT

make -s -C "$TOP" fault >/dev/null 2>&1
HAVE_SHIM=0; [ -f "$SO" ] && HAVE_SHIM=1
HAVE_A2L=0; command -v addr2line >/dev/null && HAVE_A2L=1
# A private copy of the binary (with the lenses beside it): backtraces are resolved against it
# after the run, and make may rewrite ./op25b meanwhile.
mkdir -p "$W/bin"; cp "$OP25B" "$W/bin/op25b"; ln -s "$TOP/lenses" "$W/bin/lenses"; BIN=$W/bin/op25b
HAVE_STRACE=0; command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null && HAVE_STRACE=1

pwfile() { mkdir -p "$1/etc/op25b"; printf '%s\n' "$2" > "$1$PWF"; chmod 600 "$1$PWF"; }

# run NAME CMD...: run op25b under strace (every execve with argv and environment) and the shim
# (spawn log, memory dump at exit); output in $W/NAME.out.
run() {
	local name=$1; shift
	local pre=() shim=()
	[ $HAVE_STRACE = 1 ] && pre=(strace -f -qq -v -s 8192 -e trace=execve -o "$W/$name.trace")
	if [ $HAVE_SHIM = 1 ]; then
		shim=(env -u SECRETS LD_PRELOAD="$SO" OP25B_FAULT_LOG="$W/$name.spawns" OP25B_FAULT_MEMDUMP="$W/$name.core")
		[ -n "${SECRETS:-}" ] && shim+=("OP25B_FAULT_SECRET=$SECRETS")
		[ -n "${FAULT:-}" ] && shim+=("OP25B_FAULT=$FAULT")
	fi
	rm -f "$W/$name".*
	"${pre[@]}" "${shim[@]}" "$BIN" "$@" >"$W/$name.out" 2>&1 <"${STDIN:-/dev/null}"
	RC=$?
}

# has_none FILE PASSWORD...: FILE holds none of them (binary files too).
has_none() { local f=$1 pw; shift; for pw in "$@"; do ! grep -qaF -- "$pw" "$f" || return 1; done; }
# The same for a strace log, without the test's own OP25B_FAULT_SECRET=... (the needle it hands the
# shim, in the environment of env(1) and of op25b's own execve, never of op25b's children).
trace_has_none() { sed 's/"OP25B_FAULT_SECRET=\([^"\\]\|\\.\)*"//g' "$1" > "$1.clean" && shift && has_none "$1.clean" "$@" 2>/dev/null; }

# releases NAME: the shim's unwiped-free reports of a run, one line each: the op25b functions of
# its backtrace (innermost first). Only the first report of each address (the heap reuses blocks:
# a later report of the same block is the same leak again).
releases() {
	awk -v bin="$BIN" '
		/^unwiped-/ { if (ev != "") print ev; split($0, w, " "); addr = w[5]; ev = (addr in seen) ? "" : "@"; seen[addr] = 1; next }
		ev != "" && /op25b\(\+0x/ { match($0, /\+0x[0-9a-f]+/); ev = ev " " substr($0, RSTART + 1, RLENGTH - 1) }
		END { if (ev != "") print ev }' "$W/$1.spawns" 2>/dev/null |
	while read -r _ offs; do
		local fns="" o
		for o in $offs; do fns="$fns $(addr2line -f -s -e "$BIN" "$(printf '%x' $((o - 1)))" | head -n 1)"; done
		echo "${fns# }"
	done
}

# nowhere NAME PASSWORD...: none of the passwords in the run's output, traced argv/environment,
# spawn log, released memory, or memory at exit.
nowhere() {
	local name=$1 rel unknown=""; shift
	check "$name: the password is in no output" has_none "$W/$name.out" "$@"
	[ -f "$W/$name.trace" ] && check "$name: in no argv or environment of the $(grep -c 'execve(' "$W/$name.trace") execve(s) traced by strace -f" \
		trace_has_none "$W/$name.trace" "$@"
	[ -f "$W/$name.spawns" ] || return 0
	check "$name: in no argv or envp of the $(grep -c '^spawn ' "$W/$name.spawns") posix_spawn(s) op25b made" \
		has_none "$W/$name.spawns" "$@"
	if [ $HAVE_A2L = 0 ]; then
		skip "$name: released memory not attributed (addr2line missing)"
		return 0
	fi
	while read -r rel; do
		[ -n "$rel" ] || continue
		unknown="$unknown
    released unwiped in: $rel"
	done < <(releases "$name")
	if [ -n "$unknown" ]; then
		fail "$name: memory holding the password released without being wiped$unknown"
	else
		ok "$name: every block that held the password was wiped before it was released"
	fi
	if [ -s "$W/$name.core" ]; then
		local what="not in op25b's memory at exit ($(($(stat -c %s "$W/$name.core") / 1024)) KiB of writable mappings)"
		if has_none "$W/$name.core" "$@"; then ok "$name: $what"
		else fail "$name: $what"; fi
	fi
	return 0
}

# closed ROOT PASSWORD...: every file under ROOT (and op25b's temporary dirs) holding a password is
# 0600 and not readable by others, and so is every directory of the journal.
closed() {
	local root=$1 pw f bad=""; shift
	for pw in "$@"; do
		while read -r f; do
			[ -n "$f" ] || continue
			[ "$(stat -c %a "$f")" = 600 ] || bad="$bad $f($(stat -c %a "$f"))"
		done < <(grep -rlF -- "$pw" "$root" /tmp/op25b-diff-* /tmp/op25b-postmap-* /tmp/op25b-postconf-* 2>/dev/null)
	done
	[ -z "$(find "$root/var/lib/op25b" -perm /077 ! -type l 2>/dev/null)" ] || bad="$bad $(find "$root/var/lib/op25b" -perm /077 ! -type l)"
	[ -z "$bad" ] || { echo "  open:$bad"; return 1; }
}

[ $HAVE_STRACE = 1 ] || skip "strace missing or not allowed (ptrace): argv/environment checked through the shim's spawn log only"
[ $HAVE_SHIM = 1 ] || skip "fault shim $SO missing: no spawn log, no memory dump"

# 1. First apply, verbose, with a memory dump while postmap compiles the map (the control).
root=$(new_root debian12); pwfile "$root" "$PW1"; cp -a "$root" "$W/orig"
SUBARGS=(--mode=submission --root="$root" --relayhost="$RELAY" --relay-user=homeuser --relay-password-file="$PWF" --mechanisms=PLAIN,LOGIN)
n_spawn=0
if [ $HAVE_SHIM = 1 ]; then
	# Which spawn is postmap? Count in a dry pass on a copy.
	cp -a "$root" "$W/probe"
	env LD_PRELOAD="$SO" OP25B_FAULT_LOG="$W/probe.log" "$BIN" apply -q "${SUBARGS[@]/#--root=*/--root=$W/probe}" >/dev/null 2>&1
	n_spawn=$(grep '^spawn ' "$W/probe.log" | grep -n 'postmap' | head -n 1 | cut -d: -f1)
fi
SECRETS=$PW1 FAULT=${n_spawn:+spawn:$n_spawn:dump} run apply1 apply -v "${SUBARGS[@]}"
check "apply: exit 0" test "$RC" = 0
if [ -n "$n_spawn" ] && [ -s "$W/apply1.core.mid" ]; then
	check "control: a dump taken while postmap runs holds the password (the method finds it)" grep -qaF -- "homeuser:$PW1" "$W/apply1.core.mid"
else
	skip "control dump: no postmap spawn found or no dump"
fi
[ -f "$W/apply1.trace" ] && check "control: strace saw postmap's execve" grep -q 'execve("[^"]*postmap"' "$W/apply1.trace"
nowhere apply1 "$PW1"
if [ $HAVE_SHIM = 1 ]; then
	# Control of the release check: the relay user name is no secret, op25b does not wipe it.
	SECRETS=zq-control-user run control apply --dry-run "${SUBARGS[@]/#--relay-user=*/--relay-user=zq-control-user}"
	check "control: the release check sees memory released unwiped (the user name, not a secret: $(grep -c '^unwiped-' "$W/control.spawns") blocks)" \
		grep -q '^unwiped-' "$W/control.spawns"
fi
check "apply: nothing holding the password is readable by others" closed "$root" "$PW1"
check "apply: the map is 0600" test "$(stat -c %a "$root/etc/postfix/ispinfo")" = 600
check "apply: no state dir entry is open to group or others" test -z "$(find "$root/var/lib/op25b" -perm /077)"

# 2. Dry-run and status: the map is named, its contents are not shown.
pwfile "$root" "$PW2"; pwfile "$W/orig" "$PW2"
SECRETS=$PW1$'\n'$PW2 run dry apply --dry-run "${SUBARGS[@]}"
check "dry-run with a new password: exit 0" test "$RC" = 0
check "dry-run: the map is listed as a secret" grep -q 'rewrite /etc/postfix/ispinfo (contents not shown: it holds a secret)' "$W/dry.out"
nowhere dry "$PW1" "$PW2"
SECRETS=$PW1 run status status --root="$root"; nowhere status "$PW1"
SECRETS=$PW1 run statusjson status --json --root="$root"; nowhere statusjson "$PW1"

# 3. A new password: the journal's copy of the old map holds the old password, 0600 in 0700.
SECRETS=$PW1$'\n'$PW2 run apply2 apply "${SUBARGS[@]}"
check "apply with the new password: exit 0" test "$RC" = 0
check "the new password is in the map" test "$(postmap -c "$root/etc/postfix" -q "[$RELAY]:587" "hash:$root/etc/postfix/ispinfo")" = "homeuser:$PW2"
nowhere apply2 "$PW1" "$PW2"
copies=$(grep -rlF -- "$PW1" "$root/var/lib/op25b" 2>/dev/null)
if [ -n "$copies" ]; then
	check "journal copies of the old map: 0600 files in 0700 directories ($(echo "$copies" | wc -l) copies)" \
		sh -c 'for f in $1; do [ "$(stat -c %a "$f")" = 600 ] && [ "$(stat -c %a "$(dirname "$f")")" = 700 ] || exit 1; done' _ "$copies"
else
	skip "no journal copy of the old map found to check"
fi
check "after the second apply: nothing holding a password readable by others" closed "$root" "$PW1" "$PW2"

# 4. Revert: reads the journal's copies, writes the old map back, then removes it.
SECRETS=$PW1$'\n'$PW2 run revert revert -v --root="$root"
check "revert: exit 0" test "$RC" = 0
nowhere revert "$PW1" "$PW2"
check "revert: original bytes back" same_tree "$W/orig" "$root"

# 5. --relay-password-stdin.
root=$(new_root debian12)
printf '%s\n' "$PW3" > "$W/stdin"; SECRETS=$PW3 STDIN=$W/stdin run stdin apply -v --mode=submission --root="$root" --relayhost="$RELAY" \
	--relay-user=homeuser --relay-password-stdin --mechanisms=PLAIN
check "stdin: exit 0" test "$RC" = 0
nowhere stdin "$PW3"
check "stdin: nothing holding the password readable by others" closed "$root" "$PW3"

# 6. An existing map with other relays' credentials, group- and world-readable: tightened, and the
#    journal's copy of it is 0600.
root=$(new_root debian12); pwfile "$root" "$PW1"
printf '[other.example]:587 someone:Zq-other-secret\n' > "$root/etc/postfix/ispinfo"; chmod 644 "$root/etc/postfix/ispinfo"
SECRETS=$PW1$'\n'Zq-other-secret run existing apply "${SUBARGS[@]/#--root=*/--root=$root}"
check "existing map: exit 0" test "$RC" = 0
nowhere existing "$PW1" Zq-other-secret
check "existing map: every file holding a credential is closed now" closed "$root" "$PW1" Zq-other-secret

# 7. A failure after the map was written (EIO at a later rename) rolls back: the password is in
#    no message and no memory, and nothing holding it is left open.
if [ $HAVE_SHIM = 1 ]; then
	root=$(new_root debian12); pwfile "$root" "$PW1"; cp -a "$root" "$W/orig7"
	SECRETS=$PW1 FAULT=rename:3:EIO run failed apply -v "${SUBARGS[@]/#--root=*/--root=$root}"
	check "failure after the map was written: exit 1, rolled back (exit $RC)" sh -c "[ $RC = 1 ] && grep -q 'put back' '$W/failed.out'"
	check "failure: the files are as before" same_tree "$W/orig7" "$root"
	nowhere failed "$PW1"
	check "failure: nothing holding the password readable by others" closed "$root" "$PW1"
fi

# 8. Bad input that carries the password (a two-line file): the refusal does not echo it.
root=$(new_root debian12); mkdir -p "$root/etc/op25b"; printf 'Zq-line-one\nZq-line-two\n' > "$root$PWF"; chmod 600 "$root$PWF"
SECRETS=Zq-line-one$'\n'Zq-line-two run badpw apply "${SUBARGS[@]/#--root=*/--root=$root}"
check "two-line password refused (exit 2)" test "$RC" = 2
nowhere badpw Zq-line-one Zq-line-two

finish
