#!/bin/bash
# The end-to-end figure of make bench: how long from the start of the change until the mail
# server SERVES it — 465 presents the new certificate, and 993 too — measured against the real
# postfix@-.service and dovecot.service under a real systemd 252 in private namespaces
# (tests/lib/sysd.sh, tests/lib/sysd-mail.sh).
#
#   op25b    op25b apply --mode=smtps: atomic writes dated 2 s back, Postfix and Dovecot reloaded
#            together over sd-bus, exits once it saw 465 and 993 serve the certificate.
#   script   bench/admin/smtps.sh (postconf -e/-M/-P, sed), then `systemctl restart postfix dovecot`,
#            as an admin's script does: the restart waits for Postfix's cool-down of the fresh main.cf.
#
# Each round puts the same original files back and restarts both units (not timed), then runs one
# tool; the tools alternate and the order flips every round. Time is taken inside the instance by
# bench/e2e-round.sh: from just before the tool starts until `openssl s_client` sees the new
# certificate on 127.0.0.1:465 and then on 127.0.0.1:993 (polled every 10 ms). Medians of
# $BENCH_E2E_RUNS rounds (10) per tool, and their ratio (target: op25b <= 0.35 x the script).
# Prints a skip line and exits 0 where the harness cannot run (not root, no namespaces, ...).
# Run alone with `make bench-e2e`. Services lock: /tmp/op25b-services.lock (taken here).
set -u
export LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
OP25B=${OP25B:-$TOP/op25b}
RUNS=${BENCH_E2E_RUNS:-10}
LOCK=/tmp/op25b-services.lock

if [ -z "${OP25B_E2E_LOCKED:-}" ]; then
	exec env OP25B_E2E_LOCKED=1 flock "$LOCK" bash "$0" "$@"
fi
[ -x "$OP25B" ] || { echo "bench-e2e: $OP25B: not built (make op25b)" >&2; exit 1; }
. "$TOP/tests/lib/sysd-mail.sh"
if [ "$(id -u)" != 0 ]; then echo "end to end: skipped (not root)"; exit 0; fi
if ! why=$("$MAIL_SYSD" check 2>&1); then echo "end to end: skipped (systemd harness: ${why#no: })"; exit 0; fi

W=$(mktemp -d /tmp/op25b-bench-e2e.XXXXXX) || exit 1
chmod 755 "$W"
S=$W/sysd
trap 'mail_stop; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

echo
echo "End to end, real systemd + postfix@-.service + dovecot.service: start of the change ->"
echo "465 and 993 present the new certificate ($RUNS rounds each, tools alternating)"
if ! mail_boot "$S" "$OP25B" "$TOP" 2>"$W/boot.log"; then
	sed 's/^/  /' "$W/boot.log"
	echo "end to end: the harness did not start (above)" >&2
	exit 1
fi
install -m 755 "$TOP/bench/e2e-round.sh" "$TOP/bench/admin/smtps.sh" "$S/run/op25b/bin/"
mkdir -p "$W/orig" && cp -a "$S/etc-postfix" "$S/etc-dovecot" "$W/orig/"
X postconf mail_version | sed 's/^/  /'
X dovecot --version | sed 's/^/  dovecot /'

# The original files back, dated a minute back, both units restarted on them (not timed); op25b's
# journal gone.
baseline() {
	local d
	for d in etc-postfix etc-dovecot; do
		find "$S/$d" -mindepth 1 -delete
		cp -a "$W/orig/$d/." "$S/$d/"
		find "$S/$d" -exec touch -h -d '-1 min' {} +
	done
	rm -rf "$S/run/op25b/state"
	# No start-rate limit left over from the rounds before (5 starts in 10 s by default).
	X systemctl reset-failed postfix.service "$MAIL_PFU" dovecot.service 2>/dev/null
	X systemctl restart "$MAIL_PFU" dovecot.service || return 1
	X /run/op25b/bin/e2e-round.sh wait-old >/dev/null
}

declare -A T
for ((i = 1; i <= RUNS; i++)); do
	if ((i % 2)); then order="op25b script"; else order="script op25b"; fi
	for tool in $order; do
		baseline || { echo "end to end: could not restore the baseline" >&2; exit 1; }
		if ! out=$(X /run/op25b/bin/e2e-round.sh "$tool" 2>&1); then
			echo "end to end: $tool round $i failed:" >&2
			printf '%s\n' "$out" | sed 's/^/  /' >&2
			exit 1
		fi
		T[$tool]="${T[$tool]:-} ${out##*$'\n'}"
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%d-%d", lo, hi }'; }
mo=$(echo "${T[op25b]}" | median) ms=$(echo "${T[script]}" | median)
printf '  %-58s %10s %12s\n' "" "median ms" "range ms"
printf '  %-58s %10s %12s\n' "op25b apply --mode=smtps (reload, files dated 2 s back)" "$mo" "$(echo "${T[op25b]}" | range)"
printf '  %-58s %10s %12s\n' "script: postconf/sed + systemctl restart postfix dovecot" "$ms" "$(echo "${T[script]}" | range)"
awk -v a="$mo" -v b="$ms" 'BEGIN { r = a / b; printf "  ratio op25b/script: %.2f (target <= 0.35: %s)\n", r, r <= 0.35 ? "met" : "NOT met" }'
