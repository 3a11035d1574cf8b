#!/bin/sh
# tests/t-lens.sh - tests of op25b's Augeas lens for Postfix master.cf.
#
# Run from anywhere (paths are taken from this script's location):
#   sh tests/t-lens.sh
#
# 1. augparse on every lenses/tests/*.aug (lens typecheck + unit tests);
# 2. for each master.cf found - /usr/share/postfix/master.cf.dist, the stock
#    files in ../shared/reference-configs/*master.cf* (next to the repo; skipped
#    when absent) and fixtures/*/etc/postfix/master.cf - in a scratch root:
#    - it parses (no /augeas//error) into service entries;
#    - a save after a no-op edit leaves the bytes identical;
#    - enabling the commented-out 465 (submissions or smtps) and 587
#      (submission) services = removing their "disabled" markers only removes
#      '#' characters, and `postconf -c DIR -M/-P` then shows the services and
#      their -o overrides;
#    - putting the markers back gives the original bytes again.
# Only the project's lens is used: AUGEAS_LENS_LIB is unset, augtool runs
# with --nostdinc and no autoload, the transform is registered by hand.
# Prints "ok - ...", "FAIL - ...", "skip - ..." per check, then
# "N passed, N failed, N skipped"; exits 1 when a check failed.

set -u
unset AUGEAS_LENS_LIB AUGEAS_ROOT

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
lensdir=$top/lenses
lens=Op25b_Postfix_Master.lns
mcf=/files/etc/postfix/master.cf

passed=0 failed=0 skipped=0
ok()   { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
skip() { skipped=$((skipped + 1)); echo "skip - $*"; }
# diag FILE: show (the start of) a command's output under a failed check
diag() { sed -n '1,25s/^/#   /p' "$1"; }

finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/t-lens.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

# A broken lens regexp once compiled for 11 minutes: bound every run.
if command -v timeout >/dev/null 2>&1; then
	bounded() { timeout "$@"; }
else
	bounded() { shift; "$@"; }
fi

for tool in augparse augtool; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		fail "$tool not found (Debian package augeas-tools; see tests/deps.sh)"
		finish
	fi
done
have_postconf=1
command -v postconf >/dev/null 2>&1 || have_postconf=0

# ---------------------------------------------------------------- augparse
for t in "$lensdir"/tests/*.aug; do
	[ -e "$t" ] || { skip "no augparse tests in lenses/tests"; break; }
	name=${t#"$top"/}
	if bounded 300 augparse -I "$lensdir" "$t" >"$scratch/out" 2>&1; then
		ok "augparse $name"
	else
		fail "augparse $name"
		diag "$scratch/out"
	fi
done

# ---------------------------------------------------------------- regexps
# The lens writes "text after '#' that is not a commented-out service line"
# and "a continuation line that is not an option" out by hand, because
# Augeas' own subtraction gave a 700 kB regexp (and the smaller ones, the
# parameter name and the command, because one regexp is cheaper to compile
# and match than Augeas' composition). Check with libfa (Augeas' automaton
# library) that they still equal the subtractions or compositions they
# stand for, built from the lens's own field regexps, and that no regexp
# grew big.
names="svc_re type_re flag_re wakeup_re limit_re dstart_re pname_re pvalue_re
comment_re dcont_re darg_re parg_re cmd_re"
libfa=
for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
	[ -e "$d/libfa.so.1" ] && { libfa=$d/libfa.so.1; break; }
done
if ! command -v python3 >/dev/null 2>&1 || [ -z "$libfa" ]; then
	skip "regexps: python3 or libfa.so.1 not found"
else
	{
		echo "module Op25b_Regexps_Check ="
		for r in $names; do
			printf 'let _ = print_regexp Op25b_Postfix_Master.%s\n' "$r"
			printf 'let _ = print_string "\\n"\n'
		done
	} >"$scratch/op25b_regexps_check.aug"
	# shellcheck disable=SC2086 # $names is a list
	if ! bounded 60 augparse --notypecheck -I "$lensdir" \
		"$scratch/op25b_regexps_check.aug" >"$scratch/regexps" 2>"$scratch/out"; then
		fail "regexps: printing the lens regexps"
		diag "$scratch/out"
	elif python3 - "$libfa" "$scratch/regexps" $names >"$scratch/out" 2>&1 <<-'EOF'
		import ctypes, sys
		fa = ctypes.CDLL(sys.argv[1])
		vp = ctypes.c_void_p
		for f in ("fa_minus", "fa_union", "fa_concat"):
		    getattr(fa, f).restype = vp
		    getattr(fa, f).argtypes = [vp, vp]
		fa.fa_equals.argtypes = [vp, vp]
		fa.fa_compile.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(vp)]
		def comp(s):
		    b = s.encode()
		    p = vp()
		    if fa.fa_compile(b, len(b), ctypes.byref(p)) != 0:
		        sys.exit("cannot compile %r" % s[:80])
		    return p.value
		def cat(*xs):
		    r = xs[0]
		    for x in xs[1:]:
		        r = fa.fa_concat(r, x)
		    return r
		lines = open(sys.argv[2]).read().split("\n")
		src, bad = {}, 0
		for name, line in zip(sys.argv[3:], lines):
		    if len(line) > 4000:
		        print("%s is %d bytes long" % (name, len(line)))
		        bad = 1
		    # print_regexp writes /.../ with \t and \n escaped; libfa wants them raw
		    src[name] = line[1:-1].replace("\\t", "\t").replace("\\n", "\n")
		r = {k: comp(v) for k, v in src.items()}
		anyl, nb, ws = comp("[^\n]*"), comp("[^ \t\n]"), comp("[ \t]+")
		rest = comp("([^\n]*[^ \t\n])?")
		head = cat(r["svc_re"], ws, r["type_re"], ws, r["flag_re"], ws, r["flag_re"],
		           ws, r["flag_re"], ws, r["wakeup_re"], ws, r["limit_re"], ws, nb, anyl)
		dcont = cat(ws, r["dstart_re"], anyl)
		opt = cat(comp("-o[ \t]+"), r["pname_re"], comp("=[^ \t\n]*"))
		want = {
		    "cmd_re": cat(nb, rest),
		    "pname_re": fa.fa_minus(comp("[A-Za-z0-9_]+"), comp("disabled")),
		    "comment_re": fa.fa_minus(anyl, fa.fa_union(head, dcont)),
		    "dcont_re": dcont,
		    "darg_re": fa.fa_minus(cat(r["dstart_re"], rest), opt),
		    "parg_re": fa.fa_minus(cat(comp("[^# \t\n]"), rest), cat(r["dstart_re"], rest)),
		}
		for k, w in want.items():
		    if fa.fa_equals(r[k], w) != 1:
		        print("%s differs from its definition" % k)
		        bad = 1
		sys.exit(bad)
	EOF
	then
		ok "regexps: hand-written complements equal their definitions (libfa), all < 4 kB"
	else
		fail "regexps: hand-written complements"
		diag "$scratch/out"
	fi
fi

# ---------------------------------------------------------------- augtool
# aug ROOT: run the augtool commands of stdin on ROOT, after loading
# ROOT/etc/postfix/master.cf with the lens. Output in $scratch/out.
aug() {
	{
		printf 'set /augeas/load/M/lens %s\n' "$lens"
		printf 'set /augeas/load/M/incl /etc/postfix/master.cf\n'
		printf 'load\n'
		cat
	} | bounded 60 augtool --nostdinc -A -r "$1" -I "$lensdir" >"$scratch/out" 2>&1
}

# has_errors: did the last aug run fail a command or report an error?
has_errors() { grep -q -e '^/augeas/.*error' -e '^error:' -e '^saving failed' "$scratch/out"; }

# pconf DIR ARGS...: postconf on the config directory DIR, stderr dropped
# (Postfix < 3.8 warns about parameters it does not know)
pconf() { d=$1; shift; postconf -c "$d" "$@" 2>/dev/null; }

# only_hashes A B: A and B differ only by '#' at the start of some lines;
# prints how many lines differ
only_hashes() {
	[ "$(wc -l <"$1")" -eq "$(wc -l <"$2")" ] || return 1
	sed 's/^#//' "$1" >"$scratch/a.nohash"
	sed 's/^#//' "$2" >"$scratch/b.nohash"
	cmp -s "$scratch/a.nohash" "$scratch/b.nohash" || return 1
	awk 'NR == FNR { a[FNR] = $0; next } a[FNR] != $0 { n++ } END { print n + 0 }' "$1" "$2"
}

n=0
check_file() {
	src=$1 what=$2
	n=$((n + 1))
	root=$scratch/root$n
	etc=$root/etc/postfix
	mkdir -p "$etc"
	cp "$src" "$etc/master.cf"

	# parse
	printf 'print /augeas//error\nmatch %s/*[type]\n' "$mcf" | aug "$root"
	if has_errors || ! grep -q "^$mcf/" "$scratch/out"; then
		fail "$what: parse"
		diag "$scratch/out"
		return
	fi
	ok "$what: parse ($(grep -c "^$mcf/" "$scratch/out") entries)"

	# op25b reads it with the stand-in lns_entries first: the same tree, or
	# none at all (a commented-out "-o" line before the first entry)
	printf 'print %s\n' "$mcf" | aug "$root"
	mv "$scratch/out" "$scratch/tree.lns"
	lens=Op25b_Postfix_Master.lns_entries
	printf 'print %s\nprint /augeas//error\n' "$mcf" | aug "$root"
	lens=Op25b_Postfix_Master.lns
	if has_errors && ! grep -q "^$mcf/" "$scratch/out"; then
		ok "$what: lns_entries cannot read it (lns does)"
	elif cmp -s "$scratch/tree.lns" "$scratch/out"; then
		ok "$what: lns_entries reads the same tree"
	else
		fail "$what: lns_entries reads another tree"
		diff "$scratch/tree.lns" "$scratch/out" | diag /dev/stdin
	fi

	# no-op save: insert and remove a node so that the tree is dirty and put
	# runs; Augeas writes nothing when put gives back the same text
	aug "$root" <<-EOF
		ins #comment before $mcf/*[1]
		rm $mcf/*[1]
		save
		print /augeas/events/saved
		print /augeas//error
	EOF
	if has_errors || grep -q '^/augeas/events/saved' "$scratch/out" ||
		! cmp -s "$src" "$etc/master.cf"; then
		fail "$what: round-trip byte for byte"
		diag "$scratch/out"
		cmp "$src" "$etc/master.cf" 2>&1 | diag /dev/stdin
		return
	fi
	ok "$what: round-trip byte for byte"

	# which commented-out services can be enabled?
	printf 'match %s/*[disabled][type = "inet"]\n' "$mcf" | aug "$root"
	labels=$(sed -n "s|^$mcf/\\([^ ]*\\) = .*|\\1|p" "$scratch/out" | tr '\n' ' ')
	svcs=
	for s in submissions smtps; do
		case " $labels" in *" $s "*) svcs=" $s"; break ;; esac
	done
	case " $labels" in *" submission "*) svcs="$svcs submission" ;; esac
	if [ -z "$svcs" ]; then
		skip "$what: enable (no commented-out submissions/smtps/submission)"
		return
	fi

	# enable them: remove the options' markers, then the entry's
	: >"$scratch/edit"
	for s in $svcs; do
		e="$mcf/${s}[disabled][type='inet'][1]"
		printf 'match %s/*[disabled]\n' "$e" >>"$scratch/edit"
		printf 'rm %s/*/disabled\nrm %s/disabled\n' "$e" "$e" >>"$scratch/edit"
	done
	printf 'save\nprint /augeas//error\n' >>"$scratch/edit"
	aug "$root" <"$scratch/edit"
	if has_errors || ! grep -q '^Saved 1 file' "$scratch/out"; then
		fail "$what: enable$svcs: save"
		diag "$scratch/out"
		return
	fi
	cp "$scratch/out" "$scratch/enable.out"
	removed=$(sed -n 's/^rm : .* \([0-9][0-9]*\)$/\1/p' "$scratch/out" |
		awk '{ s += $1 } END { print s + 0 }')
	if changed=$(only_hashes "$src" "$etc/master.cf") && [ "$changed" -eq "$removed" ]; then
		ok "$what: enable$svcs: $removed '#' removed, layout kept"
	else
		fail "$what: enable$svcs: expected $removed lines to lose their '#' and nothing else"
		diff "$src" "$etc/master.cf" | diag /dev/stdin
	fi

	# postconf reads the result
	if [ "$have_postconf" -eq 0 ]; then
		skip "$what: postconf not found"
	else
		# an empty main.cf, old: Postfix waits ~2 s for a main.cf younger than that
		mkdir -p "$scratch/orig$n"
		cp "$src" "$scratch/orig$n/master.cf"
		: >"$etc/main.cf"
		: >"$scratch/orig$n/main.cf"
		touch -t 200001010000 "$etc/main.cf" "$scratch/orig$n/main.cf"
		for s in $svcs; do
			wanted=$(sed -n "s|^$mcf/$s/\\([^ /@]*\\) = .*|\\1|p" \
				"$scratch/enable.out" | sort -u | wc -l)
			before=$(pconf "$scratch/orig$n" -M "$s/inet" | grep -c "^$s ")
			after=$(pconf "$etc" -M "$s/inet" | grep -c "^$s ")
			got=$(pconf "$etc" -P | grep -c "^$s/inet/")
			if [ "$before" -eq 0 ] && [ "$after" -eq 1 ] && [ "$got" -eq "$wanted" ]; then
				ok "$what: postconf -M/-P: $s/inet active with $got overrides"
			else
				fail "$what: postconf: $s/inet active before=$before after=$after," \
					"overrides $got, expected $wanted"
				pconf "$etc" -Mf "$s/inet" | diag /dev/stdin
			fi
		done
	fi

	# put the markers back: the original bytes again
	: >"$scratch/edit"
	for s in $svcs; do
		e="$mcf/${s}[type='inet'][1]"
		printf "ins disabled before %s/*[1]\n" "$e" >>"$scratch/edit"
		printf "setm %s/*[preceding-sibling::command][label() != '#comment'] disabled\n" \
			"$e" >>"$scratch/edit"
	done
	printf 'save\nprint /augeas//error\n' >>"$scratch/edit"
	# only meaningful when every option of the stanza was commented out
	aug "$root" <<-EOF
		$(for s in $svcs; do
			echo "match $mcf/${s}[type='inet'][1]/*[preceding-sibling::command][label() != '#comment']"
		done)
	EOF
	total=$(grep -c "^$mcf/" "$scratch/out")
	wanted=$(grep -c "^$mcf/" "$scratch/enable.out")
	if [ "$total" -ne "$wanted" ]; then
		skip "$what: disable again (the stanza had active options)"
		return
	fi
	aug "$root" <"$scratch/edit"
	if ! has_errors && cmp -s "$src" "$etc/master.cf"; then
		ok "$what: disable$svcs again: original bytes"
	else
		fail "$what: disable$svcs again: original bytes"
		diag "$scratch/out"
		diff "$src" "$etc/master.cf" | diag /dev/stdin
	fi
}

# ---------------------------------------------------------------- the files
dist=/usr/share/postfix/master.cf.dist
if [ -f "$dist" ]; then
	check_file "$dist" "$dist"
else
	skip "$dist not found (postfix not installed)"
fi

refdir=$top/../shared/reference-configs
found=0
if [ -d "$refdir" ]; then
	for f in "$refdir"/*master.cf*; do
		[ -f "$f" ] || continue
		found=1
		check_file "$f" "reference-configs/${f##*/}"
	done
fi
[ "$found" -eq 1 ] || skip "no stock master.cf in ../shared/reference-configs (not next to this repository)"

for f in "$top"/fixtures/*/etc/postfix/master.cf; do
	[ -f "$f" ] || continue
	check_file "$f" "${f#"$top"/}"
done

# ---------------------------------------------------------------- Dovecot and main.cf files
# Every Dovecot file doveconf reads, through op25b's lens as op25b uses it (aug_text_store, then
# aug_text_retrieve): the same bytes back, and a new setting written last parses again
# (tests/tools/aug-roundtrip.c). The files installed on this machine (Dovecot's stock files in
# /usr/share/dovecot, the package's /etc/dovecot), ../shared/reference-configs when present, the
# fixtures; the same for main.cf with op25b's main.cf lens.
rt=$scratch/aug-roundtrip
if ! command -v cc >/dev/null 2>&1 || ! pkg-config --exists augeas 2>/dev/null; then
	fail "cc or libaugeas-dev not found (see tests/deps.sh)"
elif ! cc -O1 -o "$rt" "$top/tests/tools/aug-roundtrip.c" $(pkg-config --cflags --libs augeas) 2>"$scratch/out"; then
	fail "build tests/tools/aug-roundtrip.c"
	diag "$scratch/out"
else
	roundtrip() { # LENS DESCRIPTION FILE...
		lens=$1 what=$2
		shift 2
		[ $# -gt 0 ] || { skip "$what: no files"; return; }
		if bounded 120 "$rt" "$lensdir" "$lens" "$@" >"$scratch/out" 2>&1; then
			ok "$what: $# files read and written back byte for byte by $lens"
		else
			fail "$what: $lens"
			grep -v '^ok ' "$scratch/out" | diag /dev/stdin
		fi
	}
	files() { for f in "$@"; do [ -f "$f" ] && printf '%s\n' "$f"; done; }
	# shellcheck disable=SC2046 # file names without blanks
	roundtrip Op25b_Dovecot.lns "Dovecot's stock files (/usr/share/dovecot)" \
		$(files /usr/share/dovecot/dovecot.conf /usr/share/dovecot/*.ext /usr/share/dovecot/conf.d/*)
	# shellcheck disable=SC2046
	roundtrip Op25b_Dovecot.lns "the Dovecot package's /etc/dovecot" \
		$(files /etc/dovecot/dovecot.conf /etc/dovecot/*.ext /etc/dovecot/conf.d/*)
	# shellcheck disable=SC2046
	roundtrip Op25b_Dovecot.lns "reference-configs: Dovecot 2.2 to 2.4" \
		$(files "$refdir"/*dovecot* "$refdir"/*10-ssl*)
	# shellcheck disable=SC2046
	roundtrip Op25b_Dovecot.lns "fixtures: Dovecot" \
		$(find "$top/fixtures" -path '*/etc/dovecot/*' -type f | sort)
	# shellcheck disable=SC2046
	roundtrip Op25b_Postfix_Main.lns "main.cf: stock, reference-configs, fixtures" \
		$(files /usr/share/postfix/main.cf.* "$refdir"/*main.cf* "$top"/fixtures/*/etc/postfix/main.cf)
fi

finish
