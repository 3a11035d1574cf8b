#!/bin/bash
# One timed round of bench/e2e.sh, run INSIDE the systemd harness (installed as
# /run/op25b/bin/e2e-round.sh). Prints the milliseconds from just before TOOL starts until 465
# and then 993 present CN = mail.example.test (openssl s_client on loopback, every 10 ms; at most
# 60 s). TOOL: op25b | script. `wait-old`: wait until 465 is closed and 993 presents another
# certificate (the baseline), untimed.
set -u
CERT=/run/op25b/pki/fullchain.pem KEY=/run/op25b/pki/privkey.pem
WANT="CN = mail.example.test"
cn() { timeout 5 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | sed -n 's/^subject=//p'; }
now() { date +%s%N; }

# until DESCRIPTION COMMAND...: poll every 10 ms, at most 60 s.
until_ok() {
	local what=$1 end=$(($(now) + 60000000000))
	shift
	until "$@"; do
		[ "$(now)" -lt "$end" ] || { echo "e2e-round: timed out waiting for $what" >&2; exit 1; }
		sleep 0.01
	done
}
serves() { [ "$(cn "$1")" = "$WANT" ]; }
old() { ! (exec 3<>/dev/tcp/127.0.0.1/465) 2>/dev/null && [ -n "$(cn 993)" ] && ! serves 993; }

case ${1:-} in
wait-old) until_ok "the baseline" old; exit 0 ;;
op25b) ;;
script) ;;
*) echo "usage: e2e-round.sh op25b|script|wait-old" >&2; exit 2 ;;
esac
t0=$(now)
if [ "$1" = op25b ]; then
	env -u DBUS_SYSTEM_BUS_ADDRESS /run/op25b/bin/op25b apply --mode=smtps --cert="$CERT" --key="$KEY" \
		--state-dir=/run/op25b/state --no-firewall -q || { echo "e2e-round: op25b failed" >&2; exit 1; }
else
	if ! sh /run/op25b/bin/smtps.sh / "$CERT" "$KEY" || ! systemctl restart postfix dovecot; then
		echo "e2e-round: the script failed" >&2
		exit 1
	fi
fi
until_ok "465" serves 465
until_ok "993" serves 993
echo $((($(now) - t0) / 1000000))
