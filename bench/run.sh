#!/bin/bash
# make bench: op25b side by side with the hand-written equivalents of the same edits.
#
#   script   bench/admin/{smtps,submission}.sh: postconf -e / -M / -P, sed -i, postmap, run as a
#            script runs them. Postfix waits for a main.cf younger than ~2 s, so the postmap after
#            postconf -e waits: that is what an admin sees.
#   script*  the same with main.cf dated a minute back before postmap (BACKDATE=1): no wait.
#   augtool  bench/admin/augtool-*.sh: augtool -r ROOT with the default autoload, set/rm, save
#            (for submission also the map and postmap, main.cf back-dated).
#
# Every tool gets its own copy of the same scratch tree (fixtures/$BENCH_FIXTURE, a certificate
# made by openssl, a 0600 password file); the tools alternate within each round (the order flips
# every round), and the table shows medians over $BENCH_RUNS rounds. Then peak RSS (/usr/bin/time),
# instruction counts (valgrind --tool=callgrind), and how op25b scales with main.cf/master.cf size.
# No timing is asserted: the targets are printed as met or not met.
#
# Last, the end-to-end figure of bench/e2e.sh: apply until 465 and 993 serve the new certificate,
# against real units under systemd, op25b versus the script with `systemctl restart`.
#
# Environment: BENCH_RUNS (15), BENCH_FIXTURE (debian12), BENCH_CALLGRIND (1), BENCH_SCALING (1),
# BENCH_E2E (1; BENCH_E2E_RUNS, 10), OP25B (./op25b).
set -u
export LC_ALL=C
unset AUGEAS_LENS_LIB AUGEAS_ROOT

TOP=$(cd "$(dirname "$0")/.." && pwd)
OP25B=${OP25B:-$TOP/op25b}
RUNS=${BENCH_RUNS:-15}
FIXTURE=${BENCH_FIXTURE:-debian12}
DO_CG=${BENCH_CALLGRIND:-1}
DO_SCALING=${BENCH_SCALING:-1}
DO_E2E=${BENCH_E2E:-1}
ADMIN=$TOP/bench/admin

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$OP25B" ] || die "$OP25B: not built (make op25b)"
for t in postconf postmap augtool openssl; do
	command -v "$t" >/dev/null || die "$t not found (sh tests/deps.sh installs it)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package time; sh tests/deps.sh installs it)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (EPOCHREALTIME)"
if [ "$DO_CG" = 1 ] && ! command -v valgrind >/dev/null; then
	echo "bench: valgrind not found: no instruction counts" >&2
	DO_CG=0
fi

W=$(mktemp -d /tmp/op25b-bench.XXXXXX) || exit 1
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

CERT=/etc/letsencrypt/live/mail.example.test/fullchain.pem
KEY=/etc/letsencrypt/live/mail.example.test/privkey.pem
RELAY=smtp.isp.example.test
PWFILE=/etc/op25b/relay.secret

# make_base DIR FIXTURE-DIR: the scratch tree every tool starts from.
make_base() {
	mkdir -p "$1"
	cp -a "$2/." "$1/"
	mkdir -p "$1${CERT%/*}" "$1${PWFILE%/*}"
	if [ -f "$W/pki/fullchain.pem" ]; then
		cp -a "$W/pki/." "$1${CERT%/*}/"
	else
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
			-subj /CN=mail.example.test -keyout "$1$KEY" -out "$1$CERT" 2>/dev/null || die "openssl failed"
		chmod 600 "$1$KEY"
		mkdir -p "$W/pki" && cp -a "$1${CERT%/*}/." "$W/pki/"
	fi
	printf 'bench-pass:word\n' > "$1$PWFILE"
	chmod 600 "$1$PWFILE"
	# Old enough that no Postfix tool waits for it before the first write.
	find "$1" -exec touch -h -d '1 hour ago' {} +
}
BASE=$W/base
make_base "$BASE" "$TOP/fixtures/$FIXTURE"

# fresh NAME: a new copy of the base tree; prints its path.
fresh() { rm -rf "${W:?}/t/$1"; mkdir -p "$W/t"; cp -a "$BASE" "$W/t/$1"; echo "$W/t/$1"; }

# ---------------------------------------------------------------- the commands compared
# Each takes the tree's root; output goes to $W/out (shown when a command fails).
OUT=$W/out
op_smtps()  { "$OP25B" apply --mode=smtps --root="$1" --cert="$CERT" --key="$KEY" "${@:2}"; }
op_sub()    { "$OP25B" apply --mode=submission --root="$1" --relayhost="$RELAY" --relay-user=homeuser \
		--relay-password-file="$PWFILE" --mechanisms=PLAIN,LOGIN "${@:2}"; }
op_revert() { "$OP25B" revert --root="$1"; }
sc_smtps()  { sh "$ADMIN/smtps.sh" "$1" "$CERT" "$KEY"; }
sc_sub()    { sh "$ADMIN/submission.sh" "$1" "$RELAY" homeuser "$PWFILE"; }
sc_sub_bd() { BACKDATE=1 sh "$ADMIN/submission.sh" "$1" "$RELAY" homeuser "$PWFILE"; }
sc_revert() { sh "$ADMIN/restore.sh" "$1" "$BASE"; }
au_smtps()  { sh "$ADMIN/augtool-smtps.sh" "$1" "$CERT" "$KEY" "${@:2}"; }
au_sub()    { sh "$ADMIN/augtool-submission.sh" "$1" "$RELAY" homeuser "$PWFILE" "${@:2}"; }
# /usr/bin/time and valgrind run these through a script of their own: OPS NAME ARGS...
OPS=$W/ops.sh
{
	declare -p OP25B CERT KEY RELAY PWFILE ADMIN BASE
	declare -f op_smtps op_sub op_revert sc_smtps sc_sub sc_sub_bd sc_revert au_smtps au_sub
	echo '"$@"'
} > "$OPS"

# ---------------------------------------------------------------- sanity: same result
# Postfix's view (postconf -n, -M) of what each tool made must be the same.
pf_view() {
	{ postconf -c "$1/etc/postfix" -n; postconf -c "$1/etc/postfix" -M; } 2>&1 | sed "s|$1|ROOT|g" |
		awk '{ n = split($0, p, / -o /); if (n > 1) { for (i = 2; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (p[j] < p[i]) { t = p[i]; p[i] = p[j]; p[j] = t }
			s = p[1]; for (i = 2; i <= n; i++) s = s " -o " p[i]; $0 = s } print }' | sort
}
sanity() {
	local kind=$1 a b c
	a=$(fresh s-op) b=$(fresh s-sc) c=$(fresh s-au)
	if [ "$kind" = smtps ]; then
		op_smtps "$a" >"$OUT" 2>&1 || { cat "$OUT"; die "op25b apply smtps failed"; }
		sc_smtps "$b" >"$OUT" 2>&1 || { cat "$OUT"; die "smtps.sh failed"; }
		au_smtps "$c" >"$OUT" 2>&1 || { cat "$OUT"; die "augtool-smtps.sh failed"; }
	else
		op_sub "$a" >"$OUT" 2>&1 || { cat "$OUT"; die "op25b apply submission failed"; }
		sc_sub_bd "$b" >"$OUT" 2>&1 || { cat "$OUT"; die "submission.sh failed"; }
		au_sub "$c" >"$OUT" 2>&1 || { cat "$OUT"; die "augtool-submission.sh failed"; }
	fi
	# op25b enables the stock stanza where it is; the others append a service: compare Postfix's
	# parsed view, where only the order of services can differ (hence sort).
	local va vb vc
	va=$(pf_view "$a") vb=$(pf_view "$b") vc=$(pf_view "$c")
	if [ "$va" != "$vb" ] || [ "$va" != "$vc" ]; then
		echo "bench: warning: $kind: Postfix sees different results:" >&2
		diff <(echo "$va") <(echo "$vb") | sed 's/^/  op25b-vs-script /' >&2
		diff <(echo "$va") <(echo "$vc") | sed 's/^/  op25b-vs-augtool /' >&2
	fi
	if [ "$kind" = smtps ] && ! diff -q "$a/etc/dovecot/conf.d/10-ssl.conf" "$b/etc/dovecot/conf.d/10-ssl.conf" >/dev/null; then
		echo "bench: warning: smtps: op25b and sed wrote different 10-ssl.conf files" >&2
	fi
}

# ---------------------------------------------------------------- timing
declare -A T   # T[key]="us us us ..."
# timed KEY CMD ARGS...: run once, append the wall time in microseconds to T[KEY].
timed() {
	local key=$1 s e
	shift
	s=$EPOCHREALTIME
	"$@" >"$OUT" 2>&1 || { cat "$OUT" >&2; die "failed: $key ($*)"; }
	e=$EPOCHREALTIME
	T[$key]+=" $(( ${e/./} - ${s/./} ))"
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { [ -n "${T[$1]:-}" ] && echo "${T[$1]}" | median; }

# one_round N: every operation once per tool, the tools alternating (order flips with N).
one_round() {
	local n=$1 tools t r
	if [ $((n % 2)) = 0 ]; then tools="op sc sb au"; else tools="au sb sc op"; fi
	for mode in smtps sub; do
		declare -A R=()
		for t in $tools; do
			[ "$mode" = smtps ] && [ "$t" = sb ] && continue
			R[$t]=$(fresh "$t")
			R[${t}n]=$(fresh "${t}n")
		done
		for t in $tools; do   # apply
			case $mode/$t in
			smtps/op) timed op.apply.smtps op_smtps "${R[op]}";;
			smtps/sc) timed sc.apply.smtps sc_smtps "${R[sc]}";;
			smtps/au) timed au.apply.smtps au_smtps "${R[au]}";;
			sub/op) timed op.apply.sub op_sub "${R[op]}";;
			sub/sc) timed sc.apply.sub sc_sub "${R[sc]}";;
			sub/sb) timed sb.apply.sub sc_sub_bd "${R[sb]}";;
			sub/au) timed au.apply.sub au_sub "${R[au]}";;
			esac
		done
		for t in $tools; do   # the same again: nothing to change
			case $mode/$t in
			smtps/op) timed op.again.smtps op_smtps "${R[op]}";;
			smtps/sc) timed sc.again.smtps sc_smtps "${R[sc]}";;
			smtps/au) timed au.again.smtps au_smtps "${R[au]}";;
			sub/op) timed op.again.sub op_sub "${R[op]}";;
			sub/sc) timed sc.again.sub sc_sub "${R[sc]}";;
			sub/sb) timed sb.again.sub sc_sub_bd "${R[sb]}";;
			sub/au) timed au.again.sub au_sub "${R[au]}";;
			esac
		done
		for t in $tools; do   # revert (by hand: the copies kept before, map removed)
			case $t in
			op) timed op.revert.$mode op_revert "${R[op]}";;
			sc) timed sc.revert.$mode sc_revert "${R[sc]}";;
			esac
		done
		for t in $tools; do   # dry run on an untouched tree
			case $mode/$t in
			smtps/op) timed op.dry.smtps op_smtps "${R[opn]}" --dry-run;;
			smtps/au) timed au.dry.smtps au_smtps "${R[aun]}" noop;;
			sub/op) timed op.dry.sub op_sub "${R[opn]}" --dry-run;;
			sub/au) timed au.dry.sub au_sub "${R[aun]}" noop;;
			esac
		done
	done
}

ms() { [ -n "$1" ] && awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "x%.1f", a / b }'; }

# ---------------------------------------------------------------- peak RSS and instructions
rss() { # KEY CMD...: peak RSS in KiB of the command and its children
	local f=$W/rss
	/usr/bin/time -o "$f" -f %M bash "$OPS" "${@:2}" >"$OUT" 2>&1 || { cat "$OUT" >&2; die "failed: $1"; }
	RSS[$1]=$(tail -n 1 "$f")
}
declare -A RSS IR_OWN IR_ALL
# callgrind KEY MAIN-BINARY-NAME CMD...: instructions of the process named MAIN (its own), and of
# the whole tree of processes (children: postconf, postmap, diff, sh, sed...).
callgrind() {
	local key=$1 main=$2 d=$W/cg.$1
	shift 2
	rm -rf "$d"; mkdir -p "$d"
	valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$d/cg.%p" \
		--log-file="$d/log.%p" bash "$OPS" "$@" >"$OUT" 2>&1 || { cat "$OUT" >&2; die "failed under valgrind: $key"; }
	IR_OWN[$key]=$(awk -v m="$main" '/^cmd:/ { split($2, p, "/"); own = (p[length(p)] == m) }
		/^summary:/ { if (own) s += $2 } END { printf "%.0f\n", s }' "$d"/cg.*)
	IR_ALL[$key]=$(awk '/^cmd:/ { split($2, p, "/"); w = (p[length(p)] == "bash") } /^summary:/ { if (!w) s += $2 } END { printf "%.0f\n", s }' "$d"/cg.*)
}
gi() { [ -n "${1:-}" ] && awk -v v="$1" 'BEGIN { if (v >= 1e9) printf "%.2f G", v / 1e9; else printf "%.1f M", v / 1e6 }'; }

measure_rss_ir() {
	local r
	r=$(fresh m1); rss op.apply.smtps op_smtps "$r"; rss op.again.smtps op_smtps "$r"; rss op.revert.smtps op_revert "$r"
	r=$(fresh m2); rss op.dry.smtps op_smtps "$r" --dry-run
	r=$(fresh m3); rss op.apply.sub op_sub "$r"; rss op.again.sub op_sub "$r"; rss op.revert.sub op_revert "$r"
	r=$(fresh m4); rss op.dry.sub op_sub "$r" --dry-run
	r=$(fresh m5); rss sc.apply.smtps sc_smtps "$r"; rss sc.again.smtps sc_smtps "$r"
	r=$(fresh m6); rss sc.apply.sub sc_sub_bd "$r"; rss sc.again.sub sc_sub_bd "$r"
	r=$(fresh m7); rss au.apply.smtps au_smtps "$r"; rss au.again.smtps au_smtps "$r"
	r=$(fresh m8); rss au.apply.sub au_sub "$r"; rss au.again.sub au_sub "$r"
	r=$(fresh m9); rss au.dry.smtps au_smtps "$r" noop; rss au.dry.sub au_sub "$r" noop
	[ "$DO_CG" = 1 ] || return 0
	echo "bench: instruction counts under callgrind (slow: augtool loads every lens)..." >&2
	r=$(fresh c1); callgrind op.apply.smtps op25b op_smtps "$r"; callgrind op.again.smtps op25b op_smtps "$r"
	callgrind op.revert.smtps op25b op_revert "$r"
	r=$(fresh c2); callgrind op.dry.smtps op25b op_smtps "$r" --dry-run
	r=$(fresh c3); callgrind op.apply.sub op25b op_sub "$r"; callgrind op.again.sub op25b op_sub "$r"
	callgrind op.revert.sub op25b op_revert "$r"
	r=$(fresh c4); callgrind op.dry.sub op25b op_sub "$r" --dry-run
	r=$(fresh c5); callgrind sc.apply.smtps postconf sc_smtps "$r"; callgrind sc.again.smtps postconf sc_smtps "$r"
	r=$(fresh c6); callgrind sc.apply.sub postconf sc_sub_bd "$r"; callgrind sc.again.sub postconf sc_sub_bd "$r"
	r=$(fresh c7); callgrind au.apply.smtps augtool au_smtps "$r"; callgrind au.again.smtps augtool au_smtps "$r"
	r=$(fresh c8); callgrind au.apply.sub augtool au_sub "$r"; callgrind au.again.sub augtool au_sub "$r"
	r=$(fresh c9); callgrind au.dry.smtps augtool au_smtps "$r" noop; callgrind au.dry.sub augtool au_sub "$r" noop
}

# ---------------------------------------------------------------- scaling
# scale_tree NAME MAIN-LINES MASTER-SERVICES: the base tree with main.cf / master.cf grown.
scale_tree() {
	local r
	r=$(fresh "$1")
	if [ "$2" -gt 0 ]; then
		# A comment, a parameter, an empty line, a parameter with a long value, ... (unknown
		# parameters: postconf warns about them before and after, so they do not block apply).
		awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) { k = i % 4
			if (k == 1) printf "# line %d: a comment as long as the ones in the stock file\n", i
			else if (k == 2) printf "bench_param_%d = value %d\n", i, i
			else if (k == 3) printf "\n"
			else printf "bench_list_%d = a_%d, b_%d, c_%d, d_%d\n", i, i, i, i, i } }' >> "$r/etc/postfix/main.cf"
	fi
	if [ "$3" -gt 0 ]; then
		awk -v n="$3" 'BEGIN { for (i = 1; i <= n; i++) {
			printf "svc%d      unix  -       -       y       -       -       smtp\n", i
			printf "  -o syslog_name=postfix/svc%d\n", i } }' >> "$r/etc/postfix/master.cf"
	fi
	find "$r/etc/postfix" -exec touch -h -d '1 hour ago' {} +
	echo "$r"
}

scaling() {
	local spec what n svc r lines us kib ir reus label i
	printf '\nScaling: op25b apply --mode=smtps on grown files (wall incl. its postconf check and, for\n'
	printf 'main.cf, postconf complaining about the made-up parameters; RSS; op25b'"'"'s own instructions),\n'
	printf 'and the no-change re-apply on the same tree\n'
	printf '%-26s %8s %10s %9s %9s %11s %11s %10s\n' "tree" "lines" "apply ms" "us/line" "RSS MiB" "Ir (own)" "Ir/line" "again ms"
	for spec in "stock:0:0" "main:1000:0" "main:10000:0" "main:100000:0" "master:0:1000"; do
		IFS=: read -r what n svc <<<"$spec"
		r=$(scale_tree "scale" "$n" "$svc")
		lines=$(cat "$r/etc/postfix/main.cf" "$r/etc/postfix/master.cf" | wc -l)
		# small trees: median of 3; big ones: one run (a run on 100 000 lines takes minutes)
		local ts="" runs=3
		[ "$lines" -gt 5000 ] && runs=1
		for ((i = 0; i < runs; i++)); do
			rm -rf "$W/t/scale.run"; cp -a "$r" "$W/t/scale.run"
			local s e
			s=$EPOCHREALTIME
			/usr/bin/time -o "$W/rss" -f %M "$OP25B" apply --mode=smtps --root="$W/t/scale.run" --cert="$CERT" \
				--key="$KEY" >"$OUT" 2>&1 || { cat "$OUT" >&2; die "scaling apply failed ($spec)"; }
			e=$EPOCHREALTIME
			ts+=" $(( ${e/./} - ${s/./} ))"
			kib=$(tail -n 1 "$W/rss")
		done
		us=$(echo "$ts" | median)
		s=$EPOCHREALTIME
		op_smtps "$W/t/scale.run" >"$OUT" 2>&1 || { cat "$OUT" >&2; die "scaling re-apply failed ($spec)"; }
		e=$EPOCHREALTIME
		reus=$(( ${e/./} - ${s/./} ))
		ir=""
		if [ "$DO_CG" = 1 ] && [ "$lines" -le 20000 ]; then
			rm -rf "$W/t/scale.run"; cp -a "$r" "$W/t/scale.run"
			callgrind scale op25b op_smtps "$W/t/scale.run"
			ir=${IR_OWN[scale]}
		fi
		case $what in
		stock) label="stock tree";;
		main) label="main.cf +$n lines";;
		master) label="master.cf +$svc services";;
		esac
		printf '%-26s %8d %10s %9s %9s %11s %11s %10s\n' "$label" "$lines" "$(ms "$us")" \
			"$(awk -v u="$us" -v l="$lines" 'BEGIN { printf "%.1f", u / l }')" \
			"$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')" "$(gi "$ir")" \
			"$( [ -n "$ir" ] && awk -v i="$ir" -v l="$lines" 'BEGIN { printf "%.0f", i / l }')" "$(ms "$reus")"
		SC_LINES+=("$lines") SC_US+=("$us") SC_IR+=("${ir:-0}") SC_LABEL+=("$label") SC_RE+=("$reus")
	done
	# Linear means: what the added lines cost, per line, stays the same as the files grow.
	printf '\nCost per added line (above the stock tree):\n'
	for i in 1 2 3 4; do
		awk -v l="${SC_LABEL[$i]}" -v dl="$(( SC_LINES[i] - SC_LINES[0] ))" -v du="$(( SC_US[i] - SC_US[0] ))" \
			-v dr="$(( SC_RE[i] - SC_RE[0] ))" -v di="$(( SC_IR[i] - SC_IR[0] ))" -v hi="${SC_IR[$i]}" 'BEGIN {
			printf "  %-26s apply %9.1f us/line", l, du / dl
			if (hi > 0) printf "  %8.0f Ir/line", di / dl; else printf "  %16s", ""
			printf "   re-apply %6.2f us/line\n", dr / dl }'
	done
	awk -v a="$(( SC_US[2] - SC_US[0] ))" -v b="$(( SC_US[3] - SC_US[0] ))" \
	    -v ra="$(( SC_RE[2] - SC_RE[0] ))" -v rb="$(( SC_RE[3] - SC_RE[0] ))" 'BEGIN {
		x = (b / 99000) / (a / 9000); y = (rb / 99000) / (ra / 9000)
		printf "  main.cf, 100 000 vs 10 000 added lines: apply %.1f x the time per line (%s), re-apply %.1f x (%s)\n",
			x, (x < 1.5 ? "linear" : "NOT linear"), y, (y < 1.5 ? "linear" : "NOT linear") }'
	awk -v a="$(( SC_US[1] - SC_US[0] ))" -v b="$(( SC_US[2] - SC_US[0] ))" 'BEGIN {
		x = (b / 9000) / (a / 1000)
		printf "  main.cf, 10 000 vs 1 000 added lines: apply %.1f x the time per line (%s)\n", x, (x < 1.5 ? "linear" : "NOT linear") }'
}
SC_LINES=() SC_US=() SC_IR=() SC_LABEL=() SC_RE=()

# ---------------------------------------------------------------- run
echo "bench: checking that the three ways give Postfix the same configuration..." >&2
sanity smtps
sanity sub
echo "bench: $RUNS rounds..." >&2
for ((n = 1; n <= RUNS; n++)); do one_round "$n"; done
echo "bench: peak RSS..." >&2
measure_rss_ir

pv=$(postconf -d -h mail_version 2>/dev/null)
av=$(augtool --version 2>&1 | head -n 1)
printf '\nop25b %s vs hand-written equivalents: fixtures/%s, %d rounds, median wall time in ms\n' \
	"$("$OP25B" --version | awk '{ print $NF }')" "$FIXTURE" "$RUNS"
printf '(Postfix %s, %s, %s, %d CPUs; ratios are the other tool'"'"'s time / op25b'"'"'s)\n\n' "$pv" "$av" \
	"$(uname -r)" "$(nproc)"
printf '%-26s %9s %9s %8s %9s %8s %9s %8s\n' operation op25b script ratio "script*" ratio augtool ratio
row() { # LABEL KEY-SUFFIX
	local o s b a
	o=$(med "op.$2") s=$(med "sc.$2") b=$(med "sb.$2") a=$(med "au.$2")
	printf '%-26s %9s %9s %8s %9s %8s %9s %8s\n' "$1" "$(ms "$o")" "$(ms "$s")" "$(ratio "$s" "$o")" \
		"$(ms "$b")" "$(ratio "$b" "$o")" "$(ms "$a")" "$(ratio "$a" "$o")"
}
row "apply smtps" apply.smtps
row "re-apply smtps (no-op)" again.smtps
row "revert smtps" revert.smtps
row "dry-run smtps" dry.smtps
row "apply submission" apply.sub
row "re-apply submission" again.sub
row "revert submission" revert.sub
row "dry-run submission" dry.sub
cat <<'EOF'

script:  bench/admin/*.sh as a script runs them; postmap after postconf -e waits for the young main.cf
script*: the same with main.cf dated back before postmap (no wait); smtps has no postmap: same as script
augtool: default autoload; submission adds the map by shell and postmap (main.cf dated back)
revert "script": cp -p of copies kept beforehand, rm of the map and its table
EOF

printf '\nPeak RSS (MiB; for scripts the largest process of the script)\n'
printf '%-26s %9s %9s %9s\n' operation op25b "script*" augtool
for k in apply.smtps again.smtps revert.smtps dry.smtps apply.sub again.sub revert.sub dry.sub; do
	f() { [ -n "${RSS[$1]:-}" ] && awk -v k="${RSS[$1]}" 'BEGIN { printf "%.1f", k / 1024 }'; }
	printf '%-26s %9s %9s %9s\n' "$k" "$(f "op.$k")" "$(f "sc.$k")" "$(f "au.$k")"
done

if [ "$DO_CG" = 1 ]; then
	printf '\nInstructions (callgrind Ir): own = the op25b/augtool/postconf process itself, all = with every child\n'
	printf '%-26s %11s %11s %11s %11s %11s %9s\n' operation "op25b own" "op25b all" "script all" "augtool own" "augtool all" "aug/op25b"
	for k in apply.smtps again.smtps revert.smtps dry.smtps apply.sub again.sub revert.sub dry.sub; do
		printf '%-26s %11s %11s %11s %11s %11s %9s\n' "$k" "$(gi "${IR_OWN[op.$k]:-}")" "$(gi "${IR_ALL[op.$k]:-}")" \
			"$(gi "${IR_ALL[sc.$k]:-}")" "$(gi "${IR_OWN[au.$k]:-}")" "$(gi "${IR_ALL[au.$k]:-}")" \
			"$(ratio "${IR_OWN[au.$k]:-}" "${IR_OWN[op.$k]:-}")"
	done
fi

# ---------------------------------------------------------------- targets
printf '\nTargets\n'
target() { # TEXT OK-EXPRESSION(awk, a and b) A B
	awk -v t="$1" -v a="$3" -v b="$4" "BEGIN { if (a == \"\" || b == \"\") { printf \"  %-66s n/a\\n\", t; exit }
		ok = ($2); printf \"  %-66s %s\\n\", t, (ok ? \"met\" : \"NOT MET\") }"
}
for m in smtps sub; do
	o=$(med op.apply.$m) s=$(med sc.apply.$m) b=$(med sb.apply.$m)
	target "apply $m <= script ($(ms "$o") vs $(ms "$s") ms)" "a <= b" "$o" "$s"
	[ -n "$b" ] && target "apply $m <= script* ($(ms "$o") vs $(ms "$b") ms)" "a <= b" "$o" "$b"
	o=$(med op.again.$m)
	target "re-apply $m <= 1/10 script ($(ms "$o") vs $(ms "$s") ms)" "a * 10 <= b" "$o" "$s"
	[ -n "$b" ] && target "re-apply $m <= 1/10 script* ($(ms "$o") vs $(ms "$b") ms)" "a * 10 <= b" "$o" "$b"
	o=$(med op.revert.$m)
	target "revert $m <= 1/2 script apply ($(ms "$o") vs $(ms "$s") ms)" "a * 2 <= b" "$o" "$s"
	[ -n "$b" ] && target "revert $m <= 1/2 script* apply ($(ms "$o") vs $(ms "$b") ms)" "a * 2 <= b" "$o" "$b"
	o=$(med op.apply.$m) a=$(med au.apply.$m)
	target "apply $m 20x faster than augtool ($(ms "$o") vs $(ms "$a") ms)" "a * 20 <= b" "$o" "$a"
done
maxrss=0
for k in "${!RSS[@]}"; do case $k in op.*) [ "${RSS[$k]}" -gt "$maxrss" ] && maxrss=${RSS[$k]};; esac; done
target "op25b peak RSS < 12 MiB ($(awk -v k="$maxrss" 'BEGIN { printf "%.1f", k / 1024 }') MiB)" "a < 12 * 1024" "$maxrss" 1

[ "$DO_SCALING" = 1 ] && scaling
# The end-to-end figure (real systemd, Postfix and Dovecot): bench/e2e.sh, alone with make bench-e2e.
[ "$DO_E2E" = 1 ] && OP25B=$OP25B bash "$TOP/bench/e2e.sh"
exit 0
