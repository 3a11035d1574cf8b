# Shared by the shell tests: counters, a scratch dir, a throwaway PKI. Source it; call `finish` last.
# Each test prints "ok - ...", "FAIL - ..." or "skip - ...", and finish prints the totals line.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
OP25B=${OP25B:-$TOP/op25b}
PASS=0 FAILED=0 SKIPPED=0
SCRATCH=$(mktemp -d /tmp/op25b-test.XXXXXX)
chmod 755 "$SCRATCH"
cleanup_scratch() { rm -rf "$SCRATCH"; }
trap cleanup_scratch EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip - $*"; }
# check "description" command...   (passes when the command succeeds)
check() { d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
finish() {
	echo "$PASS passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ]
}

# A self-signed certificate and key, valid DAYS (default 90), at DIR/fullchain.pem, DIR/privkey.pem.
make_pki() {
	mkdir -p "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "${2:-90}" \
		-subj "/CN=${3:-mail.example.test}" -keyout "$1/privkey.pem" -out "$1/fullchain.pem" 2>/dev/null
	chmod 600 "$1/privkey.pem"
}

# Copy fixture tree NAME to a fresh root and return its path; the PKI is placed under the root at
# the same absolute path as on the host, so postconf/doveconf on the host find the files too.
PKI=$SCRATCH/pki
new_root() {
	# mktemp, not $RANDOM: a test that makes hundreds of roots met an old one again (and cp -a
	# then blocked on a FIFO a case had left in it)
	mkdir -p "$SCRATCH/roots/$(dirname "$1")"
	r=$(mktemp -d "$SCRATCH/roots/$1.XXXXXX") || return 1
	chmod 755 "$r"
	cp -a "$TOP/fixtures/$1/." "$r/"
	[ -f "$PKI/fullchain.pem" ] || make_pki "$PKI"
	mkdir -p "$r$PKI"
	cp -a "$PKI/." "$r$PKI/"
	echo "$r"
}

# Same bytes, names and modes, ignoring op25b's own state dir (and the var/lib it made for it).
tree_list() { (cd "$1" && find . -printf '%p %m %s\n' | grep -v '^\./var/lib/op25b\|^\./var \|^\./var/lib ' | sort); }
same_tree() {
	[ "$(tree_list "$1")" = "$(tree_list "$2")" ] || return 1
	(cd "$1" && find . -path ./var/lib/op25b -prune -o -type f -print) | while read -r f; do
		cmp -s "$1/$f" "$2/$f" || { echo "  differs: $f"; return 1; }
	done
}
