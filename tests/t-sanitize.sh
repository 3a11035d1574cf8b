#!/bin/bash
# Memory errors, undefined behaviour and leaks: the unit tests and a representative set of CLI runs
# (apply smtps and submission, dry-run, status, revert, probe of a closed port, bad input, a
# corrupted journal) under AddressSanitizer + UndefinedBehaviorSanitizer (mk/sanitize.mk, built in
# build/asan), and the unit tests and the same CLI runs under valgrind memcheck on private copies of
# the normal binaries (./op25b may be rewritten by make while valgrind runs). Zero reports allowed.
. "$(dirname "$0")/lib/testlib.sh"

ASAN_B=${ASAN_B:-$TOP/build/asan}
W=$SCRATCH/w
mkdir -p "$W"
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
RELAY=smtp.isp.example.test
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=exitcode=98

# A private bin dir: the binary, and the project's lenses beside it (lens_dir() looks there).
privbin() { # SOURCE-BINARY DIR
	mkdir -p "$2"; cp "$1" "$2/op25b"; ln -sfn "$TOP/lenses" "$2/lenses"
}

# cli RUNNER: the CLI cases, each "description|expected exit|args" run through RUNNER (a function
# that runs op25b with its arguments and returns its exit status, writing reports to $W/report).
cli() {
	local runner=$1 label=$2 root pw
	root=$(new_root debian12)
	mkdir -p "$root/etc/op25b"; printf 'san-pw\n' > "$root/etc/op25b/relay.secret"; chmod 600 "$root/etc/op25b/relay.secret"
	SUB=(--relayhost="$RELAY" --relay-user=homeuser --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN,LOGIN)
	one() { # DESCRIPTION EXPECTED-EXIT ARGS...
		local d=$1 want=$2 rc; shift 2
		: > "$W/report"
		"$runner" "$@" >"$W/out" 2>&1; rc=$?
		if [ "$rc" = "$want" ] && [ ! -s "$W/report" ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$W/out" "$W/report"; then
			ok "$label: $d (exit $rc, no report)"
		else
			fail "$label: $d (exit $rc, wanted $want)"; grep -hE -A12 'ERROR|runtime error|SUMMARY|definitely|indirectly|Invalid|uninitialised' "$W/out" "$W/report" | head -n 40
		fi
	}
	one "--help" 0 --help
	one "apply --mode=smtps --dry-run" 0 apply --dry-run --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"
	one "apply --mode=smtps" 0 apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"
	one "apply --mode=smtps again (nothing to change)" 0 apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"
	one "apply --mode=submission --dry-run" 0 apply --dry-run --mode=submission --root="$root" "${SUB[@]}"
	one "apply --mode=submission" 0 apply --mode=submission --root="$root" "${SUB[@]}"
	one "status" 0 status --root="$root"
	one "status --json" 0 status --json --root="$root"
	one "revert --dry-run" 0 revert --dry-run --root="$root"
	one "revert --mode=submission" 0 revert --mode=submission --root="$root"
	one "revert" 0 revert --root="$root"
	one "probe of a closed port" 1 probe 127.0.0.1:1 --timeout=2
	one "bad input: unknown option" 2 apply --mode=smtps --root="$root" --bogus
	one "bad input: key does not match" 2 apply --mode=smtps --root="$root" --cert="$CERT" --key=/etc/ssl/none.key
	one "bad input: relayhost" 2 apply --mode=submission --root="$root" --relayhost='smtp isp' --relay-user=u --relay-password-stdin
	printf 'mode = smtps\ncert = %s\nkey = %s\nbogus = 1\n' "$CERT" "$KEY" > "$W/bad.conf"; chmod 600 "$W/bad.conf"
	one "bad input: configuration file" 2 apply --root="$root" --config="$W/bad.conf"
	"$OP25B" apply -q --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"
	sed -i 's/^mode smtps/mode bogus/' "$root"/var/lib/op25b/tx/*/meta
	one "bad input: corrupted journal" 2 revert --root="$root"
}

# ---- AddressSanitizer + UndefinedBehaviorSanitizer ----
if ! make -s -C "$TOP" sanitize-build ASAN_B="$ASAN_B" >"$W/build.log" 2>&1; then
	skip "ASan/UBSan: the sanitizer build failed (no libasan/libubsan?): $(tail -n 3 "$W/build.log" | tr '\n' ' ')"
else
	for u in "$ASAN_B"/unit/test_*; do
		[ -x "$u" ] || continue
		if CK_FORK=no "$u" >"$W/unit.out" 2>&1 && ! grep -qE 'ERROR: |runtime error:' "$W/unit.out"; then
			ok "ASan/UBSan: unit tests $(basename "$u") ($(grep -o '[0-9]*%: Checks: [0-9]*' "$W/unit.out" | head -n 1))"
		else
			fail "ASan/UBSan: unit tests $(basename "$u")"; tail -n 30 "$W/unit.out"
		fi
	done
	privbin "$ASAN_B/op25b" "$W/asan"
	asan_run() { "$W/asan/op25b" "$@"; }
	cli asan_run ASan/UBSan
fi

# ---- valgrind memcheck ----
if ! command -v valgrind >/dev/null; then
	skip "valgrind: not installed"
else
	privbin "$OP25B" "$W/vg"
	vg_run() {
		valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 --log-file="$W/report" "$W/vg/op25b" "$@"
		local rc=$?
		# Valgrind's own notes ("--PID--"), not reports: older valgrinds do not know openat2
		# (syscall 437), answer ENOSYS, and op25b takes its walk instead (src/base/rootfs.c).
		sed -i '/^--[0-9]*-- /d' "$W/report"
		return $rc
	}
	if valgrind -q --error-exitcode=99 "$W/vg/op25b" --version >/dev/null 2>"$W/vg.err"; then
		for u in "$TOP"/build/unit/test_*; do
			[ -x "$u" ] || continue
			cp "$u" "$W/vg/unit"
			if CK_FORK=no valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
				"$W/vg/unit" >"$W/unit.out" 2>&1; then
				ok "valgrind: unit tests $(basename "$u") ($(grep -o '[0-9]*%: Checks: [0-9]*' "$W/unit.out" | head -n 1))"
			else
				fail "valgrind: unit tests $(basename "$u")"; grep -A12 '==[0-9]*==' "$W/unit.out" | head -n 30
			fi
		done
		cli vg_run valgrind
	else
		skip "valgrind: cannot run here: $(head -n 2 "$W/vg.err" | tr '\n' ' ')"
	fi
fi

finish
