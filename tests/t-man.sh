#!/bin/bash
# The documentation: op25b(8) and op25b.conf(5) format without a warning, cover every option of
# `op25b --help`, every verb, the exit statuses, files and environment; the bash completion knows
# the same verbs, modes and options.
. "$(dirname "$0")/lib/testlib.sh"

M8=$TOP/man/op25b.8 M5=$TOP/man/op25b.conf.5 COMP=$TOP/completion/op25b.bash
HELP=$("$OP25B" --help)
LONGOPTS=$(printf '%s\n' "$HELP" | grep -o -- '--[a-z][a-z-]*' | sort -u)
check "op25b --help lists long options" test "$(printf '%s\n' "$LONGOPTS" | wc -l)" -ge 20

for page in "$M8" "$M5"; do
	name=$(basename "$page")
	if ! command -v groff >/dev/null 2>&1; then
		skip "$name: groff is not installed (groff-base)"
		continue
	fi
	out=$(groff -man -ww -z "$page" 2>&1)
	if [ -z "$out" ]; then ok "$name: groff -man -ww -z prints no warning"
	else fail "$name: groff warnings:"; printf '%s\n' "$out" | head -n 20; fi
	if command -v man >/dev/null 2>&1; then
		out=$(MANPAGER=cat MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		if [ -z "$out" ]; then ok "$name: man --warnings -l prints no warning"
		else fail "$name: man warnings:"; printf '%s\n' "$out" | head -n 20; fi
	else
		skip "$name: man is not installed (man-db)"
	fi
	if command -v lexgrog >/dev/null 2>&1; then
		check "$name: lexgrog finds the NAME line (whatis/apropos)" sh -c "lexgrog '$page' | grep -q ' - '"
	fi
	check "$name: .TH carries the version of op25b --version" \
		grep -q "^\.TH .*\"op25b ${VERSION:=$("$OP25B" --version | awk '{ print $2 }')}\"" "$page"
done

# Rendered as plain text, wide and without hyphenation, so that an option is never split.
render() { groff -man -Tascii -rLL=300n -rHY=0 "$1" 2>/dev/null | col -bx; }
if command -v groff >/dev/null 2>&1 && command -v col >/dev/null 2>&1; then
	T8=$(render "$M8")
	T5=$(render "$M5")
else
	# The source with its escapes taken out is good enough for the coverage checks.
	T8=$(sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\(aq/'"'"'/g' "$M8")
	T5=$(sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\(aq/'"'"'/g' "$M5")
fi
has8() { grep -qE -- "$1" <<<"$T8"; }
has5() { grep -qE -- "$1" <<<"$T5"; }

missing=""
for o in $LONGOPTS; do has8 "(^|[^a-z-])$o([^a-z-]|\$)" || missing="$missing $o"; done
check "op25b.8: every long option of op25b --help is documented${missing:+ (missing:$missing)}" test -z "$missing"
missing=""
for o in -n -q -v -h; do has8 "(^|[ ,(\[])$o([ ,]|\$)" || missing="$missing $o"; done
check "op25b.8: the short options -n -q -v -h${missing:+ (missing:$missing)}" test -z "$missing"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" ENVIRONMENT FILES SECURITY EXAMPLES "SEE ALSO"; do
	check "op25b.8: section $s" has8 "^$s\$"
done
for v in "apply --mode=smtps" "apply --mode=submission" revert status "probe HOST\[:PORT\]" verify log reload-certs; do
	check "op25b.8: the verb '$v' has its own subsection" has8 "^   $v\$"
done
# The verbs of src/cli/verbs.c, the one list main.c and request.c use: a new one needs its subsection.
TABLE_VERBS=$(sed -n 's/^\t{ "\([a-z-]*\)", V_[A-Z_]*, verb_[a-z_]*,$/\1/p' "$TOP/src/cli/verbs.c" | tr '\n' ' ')
TABLE_VERBS=${TABLE_VERBS% }
missing=""
for v in $TABLE_VERBS; do has8 "^   $v( |\$)" || missing="$missing $v"; done
check "op25b.8: a subsection for every verb of src/cli/verbs.c ($TABLE_VERBS)${missing:+ (missing:$missing)}" \
	test -n "$TABLE_VERBS" -a -z "$missing"
check "op25b.8: synopsis of apply smtps as in the contract" \
	has8 'op25b apply --mode=smtps \(--domain=NAME \| --cert=FILE --key=FILE\)'
check "op25b.8: synopsis of apply submission as in the contract" \
	has8 'op25b apply --mode=submission --relayhost=HOST\[:PORT\] --relay-user=NAME \(--relay-password-file=FILE \| --relay-password-stdin\)'
check "op25b.8: synopsis of revert, status, probe" \
	sh -c "printf '%s' \"\$1\" | grep -q 'op25b revert \[--mode=MODE\]' && printf '%s' \"\$1\" | grep -q 'op25b status \[--json\]' &&
	       printf '%s' \"\$1\" | grep -q 'op25b probe HOST\[:PORT\] \[--json\]'" _ "$T8"
EXIT=$(sed -n '/^EXIT STATUS$/,/^ENVIRONMENT$/p' <<<"$T8")
check "op25b.8: exit statuses 0, 1 (rolled back), 2 (nothing touched)" \
	sh -c "printf '%s' \"\$1\" | grep -Eq '^ +0 +Done' && printf '%s' \"\$1\" | grep -Eq '^ +1 +Failed' &&
	       printf '%s' \"\$1\" | grep -q 'rolled back' && printf '%s' \"\$1\" | grep -Eq '^ +2 +Bad usage' &&
	       printf '%s' \"\$1\" | grep -q 'Nothing was touched'" _ "$EXIT"
for e in SYSTEMD_OFFLINE DBUS_SYSTEM_BUS_ADDRESS; do
	check "op25b.8: environment $e" has8 "^       $e\$"
done
for f in /etc/postfix/main.cf /etc/postfix/master.cf /etc/dovecot/conf.d/10-ssl.conf \
	/var/lib/op25b /etc/postfix/ispinfo /etc/op25b/op25b.conf; do
	check "op25b.8: file $f" has8 "^       $f/?\$"
done
SEC=$(sed -n '/^SECURITY$/,/^EXAMPLES$/p' <<<"$T8")
check "op25b.8: security: password never on the command line or in the environment, map 0600, never printed" \
	sh -c "printf '%s' \"\$1\" | tr '\n' ' ' | grep -q 'never travels on the command line or in the environment' &&
	       printf '%s' \"\$1\" | tr '\n' ' ' | grep -q 'mode 0600' && printf '%s' \"\$1\" | grep -q 'never' &&
	       printf '%s' \"\$1\" | tr '\n' ' ' | grep -q 'It is never printed'" _ "$SEC"
EX=$(sed -n '/^EXAMPLES$/,/^SEE ALSO$/p' <<<"$T8")
check "op25b.8: examples for both modes" \
	sh -c "printf '%s' \"\$1\" | grep -q 'op25b apply --mode=smtps' && printf '%s' \"\$1\" | grep -q 'op25b apply --mode=submission'" _ "$EX"

# op25b.conf(5): every option that can go into the file, as a key with '_'.
missing=""
for o in $LONGOPTS; do
	# Not file keys: per-run choices, and verify --send-test's login (a mail user's credentials
	# belong to that one check, not to a site's configuration).
	case $o in --help | --version | --root | --config | --relay-password-stdin | --user | --password-file | --password-stdin | --check | --origin) continue ;; esac
	k=$(printf '%s' "${o#--}" | tr - _)
	has5 "^       $k = " || missing="$missing $k"
done
check "op25b.conf.5: every option that may be in the file is a key${missing:+ (missing:$missing)}" test -z "$missing"
check "op25b.conf.5: root, config and passwords are documented as not allowed" \
	sh -c "printf '%s' \"\$1\" | sed -n '/^   Not allowed in the file/,/^[A-Z]/p' | grep -q '^       root' &&
	       printf '%s' \"\$1\" | grep -q 'relay_password'" _ "$T5"
check "op25b.conf.5: the unknown-key message as op25b prints it" has5 "op25b: /etc/op25b/op25b.conf:3: unknown key 'foo'"
for s in NAME SYNOPSIS DESCRIPTION SECURITY DIAGNOSTICS FILES EXAMPLES "SEE ALSO"; do
	check "op25b.conf.5: section $s" has5 "^$s\$"
done

# ---- the option table (src/cli/option-table.h) against --help, the pages and the completion ----
# One entry a line: OPTION(ID, "name", SHORT, KIND, FIELD, VERBS, HASH, FILE, ...); FILE is NULL for
# a key of op25b.conf, "" for no key, else why the file may not hold it.
TABLE=$(sed -n 's/^OPTION([A-Z_]*, "\([a-z-]*\)", \([^,]*\), \(K_[A-Z_]*\), [^,]*, \([^,]*\), [01], \(NULL\|""\|"[^"]*"\), "\([^"]*\)".*/\1\t\2\t\3\t\4\t\5\t\6/p' \
	"$TOP/src/cli/option-table.h")
TAB=$(printf '\t')
NOPTS=$(grep -c '^OPTION(' "$TOP/src/cli/option-table.h")
check "option table: every entry read ($(printf '%s\n' "$TABLE" | grep -c .) of $NOPTS)" \
	test "$(printf '%s\n' "$TABLE" | grep -c .)" = "$NOPTS"
TABLEOPTS=$(printf '%s\n' "$TABLE" | cut -f1 | sed 's/^/--/' | sort)
check "op25b --help lists exactly the table's long options" test "$TABLEOPTS" = "$LONGOPTS"
# The verbs of an option: V_APPLY | V_REVERT, V_LOCAL (all but probe), V_ALL.
verbs_of() {
	case $1 in *V_ALL*) echo "apply revert status probe verify log reload-certs"; return ;; esac
	case $1 in *V_LOCAL*) echo "apply revert status verify log reload-certs"; return ;; esac
	local v out=""
	for v in apply revert status probe verify log reload-certs; do
		case $1 in *"V_$(printf '%s' "$v" | tr a-z- A-Z_)"*) out="$out $v" ;; esac
	done
	echo $out
}
FILEKEYS=$(printf '%s\n' "$TABLE" | awk -F'\t' '$5 == "NULL" { gsub("-", "_", $1); print $1 }' | sort)
PAGEKEYS=$(grep -oE '^       [a-z_]+ = ' <<<"$T5" | awk '{ print $1 }' | sort -u)
check "op25b.conf.5: its keys are exactly the table's file keys (table: $(echo $FILEKEYS); page: $(echo $PAGEKEYS))" \
	test "$FILEKEYS" = "$PAGEKEYS"
missing=""
for k in $(printf '%s\n' "$TABLE" | awk -F'\t' '$5 ~ /^"[^"]/ { gsub("-", "_", $1); print $1 }'); do
	sed -n '/^   Not allowed in the file/,/^[A-Z]/p' <<<"$T5" | grep -qE "^       $k( |\$)" || missing="$missing $k"
done
check "op25b.conf.5: the keys the file refuses are under 'Not allowed in the file'${missing:+ (missing:$missing)}" test -z "$missing"

# ---- bash completion ----
if command -v bash >/dev/null 2>&1; then
	check "completion: bash -n" bash -n "$COMP"
	missing=""
	for o in $LONGOPTS; do grep -q -- "$o\b" "$COMP" || missing="$missing $o"; done
	check "completion: every long option of op25b --help${missing:+ (missing:$missing)}" test -z "$missing"
	complete_words() { # WORD... -> what _op25b offers for the last word
		bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _op25b; echo "${COMPREPLY[*]}"' \
			_ "$COMP" "$@"
	}
	check "completion: verbs" test "$(complete_words op25b '')" = "apply revert status probe verify log reload-certs"
	check "completion: the verbs of src/cli/verbs.c, in their order" test "$(complete_words op25b '')" = "$TABLE_VERBS"
	check "completion: --mode=<TAB> gives the modes" test "$(complete_words op25b apply --mode = '')" = "smtps submission"
	check "completion: --mode=su<TAB>" test "$(complete_words op25b revert --mode = su)" = "submission"
	check "completion: apply --relay-password-<TAB>" \
		test "$(complete_words op25b apply --relay-password-)" = "--relay-password-file= --relay-password-stdin"
	check "completion: status --j<TAB>" test "$(complete_words op25b status --j)" = "--json"
	check "completion: --config=<TAB> completes files" \
		test "$(complete_words op25b apply --config = "$TOP/etc/op25b.co")" = "$TOP/etc/op25b.conf"
	for verb in apply revert status probe verify log reload-certs; do
		want=$(printf '%s\n' "$TABLE" | while IFS=$TAB read -r name short kind verbs file arg; do
			case " $(verbs_of "$verbs") " in *" $verb "*) echo "--$name${arg:+=}" ;; esac
		done | sort | tr '\n' ' ')
		got=$(complete_words op25b "$verb" -- | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
		check "completion: $verb offers the table's options of $verb (table: $want; completion: $got)" test "$got" = "$want"
	done
	# "--mode smtps": the options that take a value, and only those, take the next word.
	NEXTWORD=$(sed -n '/case \$prev in/,/opt=\$prev/p' "$COMP" | grep -oE -- '--[a-z-]+' | sort | tr '\n' ' ')
	WITHARG=$(printf '%s\n' "$TABLE" | awk -F'\t' '$6 != "" { print "--" $1 }' | sort | tr '\n' ' ')
	check "completion: the options taking a value are those of the table (table: $WITHARG; completion: $NEXTWORD)" \
		test "$NEXTWORD" = "$WITHARG"
	check "completion: registered for op25b" bash -c ". '$COMP'; complete -p op25b | grep -q -- '-F _op25b'"
else
	skip "completion: bash is not installed"
fi

finish
