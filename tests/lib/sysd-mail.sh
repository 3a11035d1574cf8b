# shellcheck shell=bash
# sysd-mail.sh: the real Postfix and Dovecot units, running, inside the systemd harness (sysd.sh),
# with op25b installed where the instance sees it. Sourced by tests/t-reload.sh and bench/e2e.sh.
#
#   mail_boot STATE OP25B TOP   boot in STATE (new or empty), install OP25B and TOP/lenses as
#                               /run/op25b/bin/op25b, make a certificate (CN=mail.example.test) at
#                               /run/op25b/pki/{fullchain,privkey}.pem, hide firewalld inside, start
#                               $MAIL_PFU and dovecot.service. Returns non-zero (a reason on
#                               stderr) when something failed; mail_stop must be called either way.
#   mail_stop                   power the instance off (idempotent).
#   X CMD...                    run CMD inside (bounded: 200 s).
#   served_cn PORT              "CN=..." of the certificate presented on 127.0.0.1:PORT (implicit TLS).
#   mail_backdate               date /etc/postfix/main.cf and master.cf a minute back (what Postfix's
#                               cool-down wants; the harness and `cp` have just written them).
MAIL_SYSD=${MAIL_SYSD:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sysd.sh}
MAIL_STATE=
MAIL_CERT=/run/op25b/pki/fullchain.pem
MAIL_KEY=/run/op25b/pki/privkey.pem
MAIL_OP25B=/run/op25b/bin/op25b
# The unit that runs Postfix: postfix@-.service (Debian 11, 12) or postfix.service (13).
MAIL_PFU=$(bash "$MAIL_SYSD" postfix-unit)

X() { timeout 200 "$MAIL_SYSD" exec "$MAIL_STATE" "$@"; }

mail_backdate() { touch -d '-1 min' "$MAIL_STATE/etc-postfix/main.cf" "$MAIL_STATE/etc-postfix/master.cf"; }

mail_boot() {
	local S=$1 bin=$2 top=$3 d
	MAIL_STATE=$S
	"$MAIL_SYSD" start "$S" >"$S.start.log" 2>&1 || { tail -20 "$S.start.log" >&2; return 1; }
	install -d "$S/run/op25b/bin" "$S/run/op25b/pki"
	install -m 755 "$bin" "$S$MAIL_OP25B"
	cp -a "$top/lenses" "$S/run/op25b/bin/lenses"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=mail.example.test \
		-keyout "$S$MAIL_KEY" -out "$S$MAIL_CERT" 2>/dev/null || { echo "openssl failed" >&2; return 1; }
	chmod 600 "$S$MAIL_KEY"
	# firewalld must be invisible inside: the instance's / is the host's, except what sysd.sh binds.
	for d in /usr/lib/firewalld /etc/firewalld; do
		[ -d "$d" ] || continue
		X mount -t tmpfs -o size=1m,mode=0755 op25b-nofw "$d" || return 1
	done
	mail_backdate
	X systemctl start "$MAIL_PFU" dovecot.service || return 1
	[ "$(X systemctl is-active "$MAIL_PFU" dovecot.service | tr '\n' ' ')" = "active active " ] ||
		{ echo "$MAIL_PFU or dovecot.service did not start" >&2; return 1; }
}

mail_stop() {
	[ -n "$MAIL_STATE" ] || return 0
	"$MAIL_SYSD" stop "$MAIL_STATE"
	rm -f "$MAIL_STATE.start.log"
}

served_cn() {
	# OpenSSL 3.0 prints "CN = x", 3.5 (Debian 13) "CN=x": always the latter.
	X timeout 10 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | sed -n 's/^subject=//p' | sed 's/ = /=/g'
}
