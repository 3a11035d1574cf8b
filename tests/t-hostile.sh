#!/bin/bash
# Hostile input: a catalogue of bad options, certificates, relay settings, passwords, config trees
# and state directories. Each case must end with exit 2, print its exact reason (a distinctive part
# of the message is grepped), change zero bytes of the tree (names, types, modes, owners, link
# targets and contents are compared, op25b's state dir included) and create no state dir. Every
# run is bounded (timeout): a FIFO must never make op25b hang.
. "$(dirname "$0")/lib/testlib.sh"

W=$SCRATCH/w
mkdir -p "$W"
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
TLS=(--cert="$CERT" --key="$KEY")
RELAY=smtp.isp.example.test
PWF=/etc/op25b/relay.secret
N=0

# Everything about a tree: names, types, modes, owners, link targets; then the bytes of files.
snap() {
	(cd "$1" && find . -printf '%p %y %m %u %g %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# A fixture tree with a root-only password file; the tree is $R.
fresh() {
	R=$(new_root "${1:-debian12}")
	mkdir -p "$R/etc/op25b"; printf 'good-password\n' > "$R$PWF"; chmod 600 "$R$PWF"
}

# hostile DESCRIPTION MESSAGE-PART ARGS...: op25b ARGS on $R (stdin: $STDIN, else /dev/null).
hostile() {
	local d=$1 m=$2 before out rc why="" state=0
	shift 2
	N=$((N + 1))
	[ -e "$R/var/lib/op25b" ] || [ -L "$R/var/lib/op25b" ] && state=1
	before=$(snap "$R")
	out=$(timeout "${LIMIT:-20}" "$OP25B" "$@" 2>&1 <"${STDIN:-/dev/null}"); rc=$?
	if [ $rc = 124 ] && [ -n "${KNOWN_HANG:-}" ]; then skip "$d: $KNOWN_HANG"; return; fi
	[ $rc = 124 ] && why="$why, hung (killed after ${LIMIT:-20} s)"
	[ $rc = 2 ] || why="$why, exit $rc"
	printf '%s' "$out" | grep -qF -- "$m" || why="$why, message lacks '$m'"
	[ "$before" = "$(snap "$R")" ] || why="$why, the tree changed: $(diff <(echo "$before") <(snap "$R") | grep '^[<>]' | head -n 3 | tr '\n' ' ')"
	[ $state = 1 ] || [ ! -e "$R/var/lib/op25b" ] || why="$why, a state dir was created"
	if [ -z "$why" ]; then ok "$d"; else fail "$d${why}"; printf '%s\n' "$out" | sed 's/^/  | /' | head -n 5; fi
	LAST_RC=$rc
}
smtps() { hostile "$1" "$2" apply --mode=smtps --root="$R" "${@:3}"; }
sub() { # DESCRIPTION MESSAGE ARGS: submission with valid defaults unless overridden
	hostile "$1" "$2" apply --mode=submission --root="$R" "${@:3}"
}
SUB=(--relayhost="$RELAY" --relay-user=homeuser --relay-password-file="$PWF" --mechanisms=PLAIN)

# ---- options ----
fresh
hostile "options: no verb" "a verb is required" --root="$R"
hostile "options: unknown verb" "unknown verb 'frobnicate'" frobnicate --root="$R"
hostile "options: unknown long option" "unknown option '--bogus'" apply --mode=smtps --root="$R" "${TLS[@]}" --bogus
hostile "options: unknown short option" "unknown option '-x'" apply --mode=smtps --root="$R" "${TLS[@]}" -x
hostile "options: option without its value" "option '--mode' needs a value" apply --root="$R" --mode
hostile "options: bad mode" "--mode=smtp: unknown mode" apply --mode=smtp --root="$R" "${TLS[@]}"
hostile "options: apply without a mode" "--mode=smtps or --mode=submission is required" apply --root="$R" "${TLS[@]}"
smtps "options: smtps without a certificate" "--domain=NAME or --cert=FILE --key=FILE is required"
smtps "options: --domain with '/'" "--domain=mail/example.org: not a DNS name" --domain=mail/example.org
smtps "options: --domain climbing out (../)" "--domain=../../etc: not a DNS name" --domain=../../etc
smtps "options: --domain of 300 characters" "must be a DNS name of 1 to 253 characters" --domain="$(printf 'a%.0s' {1..300})"
smtps "options: --domain and --cert together" "alternatives" --domain=mail.example.org "${TLS[@]}"
smtps "options: --cert without --key" "--cert and --key go together" --cert="$CERT"
smtps "options: relative --cert" "--cert=fullchain.pem: must be an absolute path" --cert=fullchain.pem --key="$KEY"
hostile "options: relative --root" "--root=relative/root: must be an absolute path" apply --mode=smtps --root=relative/root "${TLS[@]}"
hostile "options: --root that does not exist" "--root=$R/nonexistent: No such file or directory" apply --mode=smtps --root="$R/nonexistent" "${TLS[@]}"
hostile "options: --root that is a file" "--root=$R$PWF: not a directory" status --root="$R$PWF"
smtps "options: relative --postfix-dir" "--postfix-dir=etc/postfix: must be an absolute path" "${TLS[@]}" --postfix-dir=etc/postfix
smtps "options: --postfix-dir with a blank" "--postfix-dir: the path must not contain whitespace" "${TLS[@]}" --postfix-dir='/etc/post fix'
smtps "options: --cert with a newline" "--cert: the path must not contain whitespace" --cert=$'/etc/ssl/a\nb.pem' --key="$KEY"
smtps "options: --dovecot-dir with '#'" "--dovecot-dir: the path must not contain whitespace, control characters or '#'" "${TLS[@]}" --dovecot-dir='/etc/dove#cot'
smtps "options: relative --state-dir" "--state-dir=var/lib/op25b: must be an absolute path" "${TLS[@]}" --state-dir=var/lib/op25b
smtps "options: --timeout=0" "--timeout=0: expected seconds from 1 to 3600" "${TLS[@]}" --timeout=0
smtps "options: --timeout=abc" "--timeout=abc: expected seconds from 1 to 3600" "${TLS[@]}" --timeout=abc
smtps "options: --timeout=3601" "--timeout=3601: expected seconds from 1 to 3600" "${TLS[@]}" --timeout=3601
# One rule for the command line and op25b.conf (t-config.sh: "timeout = +5"): decimal digits only.
smtps "options: --timeout=+5" "--timeout=+5: expected seconds from 1 to 3600" "${TLS[@]}" --timeout=+5
smtps "options: --timeout=' 5'" "--timeout= 5: expected seconds from 1 to 3600" "${TLS[@]}" "--timeout= 5"
hostile "options: revert with --cert" "revert: --domain/--cert/--key are options of apply" revert --root="$R" "${TLS[@]}"
hostile "options: status with --mode" "status: --mode is not an option of this verb" status --root="$R" --mode=smtps
# The option table (src/cli/option-table.h) says which verbs take an option; the rest are refused.
hostile "options: probe with --root" "probe: --root is not an option of this verb" probe --root="$R" 127.0.0.1
hostile "options: status with --zone" "status: --zone is not an option of this verb" status --root="$R" --zone=public
hostile "options: status with an extra argument" "status: unexpected argument 'extra'" status --root="$R" extra
hostile "options: probe without a host" "probe: exactly one HOST[:PORT] is required" probe
hostile "options: probe of a host with a blank" "probe smtp isp.example: whitespace or control characters in host" probe 'smtp isp.example'
smtps "options: relay options with --mode=smtps" "are options of apply --mode=submission" "${TLS[@]}" --relayhost="$RELAY"

# ---- certificate and key ----
fresh
mkdir -p "$R/etc/ssl/op25b"; cp "$CERT" "$KEY" "$R/etc/ssl/op25b/"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=other \
	-keyout "$R/etc/ssl/op25b/other.key" -out "$R/etc/ssl/op25b/other.pem" 2>/dev/null
openssl ec -in "$KEY" -aes128 -passout pass:secret -out "$R/etc/ssl/op25b/encrypted.key" 2>/dev/null
# An expired certificate: OpenSSL 3 refuses -days 0, but its mini-CA takes an end date.
(cd "$W" && mkdir -p ca/new && : > ca/index.txt && echo 01 > ca/serial &&
	printf '[ca]\ndefault_ca=d\n[d]\ndir=./ca\ndatabase=$dir/index.txt\nnew_certs_dir=$dir/new\nserial=$dir/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n' > ca.cnf &&
	openssl req -new -key "$KEY" -subj /CN=expired.example.test -out exp.csr 2>/dev/null &&
	openssl ca -batch -config ca.cnf -selfsign -keyfile "$KEY" -in exp.csr -startdate 20200101000000Z \
		-enddate 20200102000000Z -out "$R/etc/ssl/op25b/expired.pem" >/dev/null 2>&1) ||
	openssl x509 -req -in "$W/exp.csr" -signkey "$KEY" -days -1 -out "$R/etc/ssl/op25b/expired.pem" 2>/dev/null
printf 'not a certificate\n' > "$R/etc/ssl/op25b/text.pem"; : > "$R/etc/ssl/op25b/empty.pem"
mkfifo "$R/etc/ssl/op25b/fifo.pem"; mkdir "$R/etc/ssl/op25b/dir.pem"
ln -s loop2.pem "$R/etc/ssl/op25b/loop1.pem"; ln -s loop1.pem "$R/etc/ssl/op25b/loop2.pem"
cp "$CERT" "$W/outside.pem"; ln -s "$W/outside.pem" "$R/etc/ssl/op25b/outside.pem"
cp "$KEY" "$W/outside.key"; ln -s "$W/outside.key" "$R/etc/ssl/op25b/outside.key"
C=/etc/ssl/op25b
smtps "cert: missing" "certificate $C/none.pem: No such file or directory" --cert=$C/none.pem --key=$C/privkey.pem
smtps "cert: a directory" "certificate $C/dir.pem: is a directory" --cert=$C/dir.pem --key=$C/privkey.pem
smtps "cert: a FIFO (must not block)" "certificate $C/fifo.pem: not a regular file" --cert=$C/fifo.pem --key=$C/privkey.pem
smtps "cert: a symlink loop" "certificate $C/loop1.pem: symlink loop" --cert=$C/loop1.pem --key=$C/privkey.pem
smtps "cert: a symlink pointing outside --root (resolved inside it, as after chroot)" "certificate $C/outside.pem: a symlink whose target does not exist inside --root" --cert=$C/outside.pem --key=$C/privkey.pem
smtps "cert: not PEM" "certificate $C/text.pem: not a PEM certificate" --cert=$C/text.pem --key=$C/privkey.pem
smtps "cert: empty file" "certificate $C/empty.pem: not a PEM certificate" --cert=$C/empty.pem --key=$C/privkey.pem
smtps "cert: expired" "certificate $C/expired.pem (/CN=expired.example.test) expired on" --cert=$C/expired.pem --key=$C/privkey.pem
smtps "key: missing" "key $C/none.key: No such file or directory" --cert=$C/fullchain.pem --key=$C/none.key
smtps "key: a directory" "key $C/dir.pem: is a directory" --cert=$C/fullchain.pem --key=$C/dir.pem
smtps "key: a FIFO" "key $C/fifo.pem: not a regular file" --cert=$C/fullchain.pem --key=$C/fifo.pem
smtps "key: not PEM" "key $C/text.pem: not an unencrypted PEM private key" --cert=$C/fullchain.pem --key=$C/text.pem
smtps "key: encrypted (Postfix cannot use it)" "key $C/encrypted.key: not an unencrypted PEM private key" --cert=$C/fullchain.pem --key=$C/encrypted.key
smtps "key: does not match the certificate" "key $C/other.key does not match certificate $C/fullchain.pem" --cert=$C/fullchain.pem --key=$C/other.key
smtps "key: a symlink pointing outside --root (resolved inside it, as after chroot)" "key $C/outside.key: a symlink whose target does not exist inside --root" --cert=$C/fullchain.pem --key=$C/outside.key
smtps "cert: the certificate given as the key" "not an unencrypted PEM private key" --cert=$C/fullchain.pem --key=$C/fullchain.pem
smtps "--domain without its Let's Encrypt files" "certificate /etc/letsencrypt/live/mail.example.org/fullchain.pem: No such file or directory" --domain=mail.example.org

# ---- relay host, user, password ----
fresh
sub "relayhost: a blank" "--relayhost=smtp isp" --relayhost='smtp isp' "${SUB[@]:1}"
sub "relayhost: a newline" "--relayhost=smtp" --relayhost=$'smtp\nisp' "${SUB[@]:1}"
sub "relayhost: port 0" "--relayhost=smtp.isp:0" --relayhost=smtp.isp:0 "${SUB[@]:1}"
sub "relayhost: port 70000" "--relayhost=smtp.isp:70000" --relayhost=smtp.isp:70000 "${SUB[@]:1}"
sub "relayhost: '[' without ']'" "--relayhost=[smtp.isp: missing ']'" --relayhost='[smtp.isp' "${SUB[@]:1}"
sub "relayhost: empty" "--relayhost=: empty host" --relayhost= "${SUB[@]:1}"
sub "relayhost: with '#'" "--relayhost=smtp#isp: not a valid host name" --relayhost='smtp#isp' "${SUB[@]:1}"
sub "relayhost: a leading '-'" "--relayhost=-smtp: not a valid host name" --relayhost=-smtp "${SUB[@]:1}"
sub "relayhost: 300 characters" "host name longer than 253 characters" --relayhost="$(printf 'a%.0s' {1..300})" "${SUB[@]:1}"
sub "relayhost: missing" "--relayhost=HOST[:PORT] is required" "${SUB[@]:1}"
sub "user: empty" "--relay-user" --relayhost="$RELAY" --relay-user= --relay-password-file="$PWF" --mechanisms=PLAIN
sub "user: a newline" "--relay-user: must not be empty or contain blanks, control characters, '#' or ':'" --relayhost="$RELAY" --relay-user=$'home\nuser' --relay-password-file="$PWF" --mechanisms=PLAIN
sub "user: a colon" "--relay-user: must not be empty or contain blanks, control characters, '#' or ':'" --relayhost="$RELAY" --relay-user=home:user --relay-password-file="$PWF" --mechanisms=PLAIN
sub "user: a blank" "--relay-user: must not be empty or contain blanks" --relayhost="$RELAY" --relay-user='home user' --relay-password-file="$PWF" --mechanisms=PLAIN
sub "user: 300 bytes" "--relay-user: longer than 255 bytes" --relayhost="$RELAY" --relay-user="$(printf 'u%.0s' {1..300})" --relay-password-file="$PWF" --mechanisms=PLAIN
sub "password: no option" "exactly one of" --relayhost="$RELAY" --relay-user=u --mechanisms=PLAIN
sub "password: both options" "exactly one of" "${SUB[@]}" --relay-password-stdin
sub "password: missing file" "--relay-password-file=/etc/op25b/none: No such file or directory" --relayhost="$RELAY" --relay-user=u --relay-password-file=/etc/op25b/none --mechanisms=PLAIN
pwcase() { # DESCRIPTION MESSAGE PRINTF-FORMAT [chmod]: a password file with that content
	fresh; printf "$3" > "$R$PWF"; chmod "${4:-600}" "$R$PWF"
	sub "$1" "$2" "${SUB[@]}"
}
pwcase "password: two lines" "$PWF:2: the password has more than one line" 'line1\nline2\n'
pwcase "password: a NUL byte" "$PWF: the password contains a NUL byte" 'nul\0byte'
pwcase "password: empty file" "$PWF: the password is empty" ''
pwcase "password: only a newline" "$PWF: the password is empty" '\n'
pwcase "password: a leading blank" "the password begins or ends with a blank" ' lead'
pwcase "password: a control character" "$PWF: the password contains a control character" 'a\001b'
pwcase "password: file readable by others" "--relay-password-file=$PWF: mode 0644 lets others read or change it; chmod 600 it" 'pw\n' 644
pwcase "password: file writable by the group" "mode 0620" 'pw\n' 620
fresh; head -c 2000 /dev/zero | tr '\0' x > "$R$PWF"
sub "password: 2000 bytes" "$PWF: the password is longer than 1024 bytes" "${SUB[@]}"
fresh; chown 1234 "$R$PWF"
sub "password: file owned by another user" "--relay-password-file=$PWF: owned by uid 1234; it must be root's" "${SUB[@]}"
fresh; ln -s relay.secret "$R/etc/op25b/link.secret"
sub "password: file is a symlink" "--relay-password-file=/etc/op25b/link.secret: is a symlink; give the file itself" --relayhost="$RELAY" --relay-user=u --relay-password-file=/etc/op25b/link.secret --mechanisms=PLAIN
fresh; mkfifo -m 600 "$R/etc/op25b/fifo.secret"
sub "password: file is a FIFO (must not block)" "--relay-password-file=/etc/op25b/fifo.secret: not a regular file" --relayhost="$RELAY" --relay-user=u --relay-password-file=/etc/op25b/fifo.secret --mechanisms=PLAIN
fresh; mkdir -m 700 "$R/etc/op25b/dir.secret"
sub "password: file is a directory" "--relay-password-file=/etc/op25b/dir.secret: not a regular file" --relayhost="$RELAY" --relay-user=u --relay-password-file=/etc/op25b/dir.secret --mechanisms=PLAIN
fresh
printf 'x' > "$W/stdin.nul"; printf 'a\0b' > "$W/stdin.nul"; : > "$W/stdin.empty"; head -c 5000 /dev/zero | tr '\0' y > "$W/stdin.long"
STDIN=$W/stdin.nul sub "password on stdin: a NUL byte" "--relay-password-stdin: the password contains a NUL byte" --relayhost="$RELAY" --relay-user=u --relay-password-stdin --mechanisms=PLAIN
STDIN=$W/stdin.empty sub "password on stdin: empty" "--relay-password-stdin: the password is empty" --relayhost="$RELAY" --relay-user=u --relay-password-stdin --mechanisms=PLAIN
STDIN=$W/stdin.long sub "password on stdin: 5000 bytes" "--relay-password-stdin: the password is longer than 1024 bytes" --relayhost="$RELAY" --relay-user=u --relay-password-stdin --mechanisms=PLAIN
sub "mechanisms: not SASL names" "is not a SASL mechanism name" --relayhost="$RELAY" --relay-user=u --relay-password-file="$PWF" '--mechanisms=PLAIN,LO GIN!'
sub "mechanisms: an empty list" "--mechanisms: give auto or a list such as PLAIN,LOGIN" --relayhost="$RELAY" --relay-user=u --relay-password-file="$PWF" --mechanisms=,
sub "password map: relative path" "--password-map=etc/ispinfo: must be an absolute path" "${SUB[@]}" --password-map=etc/ispinfo

# ---- configuration trees ----
fresh; rm -rf "$R/etc/postfix"
smtps "tree: no Postfix directory" "etc/postfix: no Postfix configuration directory here" "${TLS[@]}"
fresh; n=$(($(wc -l < "$R/etc/postfix/main.cf") + 1)); printf 'this line has no equals sign\n' >> "$R/etc/postfix/main.cf"
smtps "tree: unparsable main.cf (FILE:LINE)" "etc/postfix/main.cf:$n:" "${TLS[@]}"
fresh; n=$(($(wc -l < "$R/etc/postfix/master.cf") + 1)); printf 'smtp inet n\n' >> "$R/etc/postfix/master.cf"
smtps "tree: unparsable master.cf (FILE:LINE)" "etc/postfix/master.cf:$n:" "${TLS[@]}"
fresh; n=$(($(wc -l < "$R/etc/dovecot/conf.d/10-ssl.conf") + 1)); printf '}\n' >> "$R/etc/dovecot/conf.d/10-ssl.conf"
smtps "tree: unparsable 10-ssl.conf (FILE:LINE)" "etc/dovecot/conf.d/10-ssl.conf:$n:" "${TLS[@]}"
fresh; printf 'a = b\0c\n' >> "$R/etc/postfix/main.cf"
smtps "tree: NUL bytes in main.cf" "etc/postfix/main.cf: contains NUL bytes, not a configuration file" "${TLS[@]}"
fresh; rm "$R/etc/postfix/main.cf"; mkdir "$R/etc/postfix/main.cf"
smtps "tree: main.cf is a directory" "etc/postfix/main.cf: Is a directory" "${TLS[@]}"
fresh; rm "$R/etc/postfix/main.cf"; mkfifo "$R/etc/postfix/main.cf"
smtps "tree: main.cf is a FIFO (must not block)" "etc/postfix/main.cf: not a regular file" "${TLS[@]}"
fresh; mv "$R/etc/postfix/master.cf" "$W/master.outside"; ln -s "$W/master.outside" "$R/etc/postfix/master.cf"
smtps "tree: master.cf symlinked outside the root (resolved inside it, as after chroot)" "/etc/postfix/master.cf: a symlink whose target does not exist inside --root" "${TLS[@]}"
fresh; rm "$R/etc/postfix/main.cf"; ln -s main.cf "$R/etc/postfix/main.cf"
smtps "tree: main.cf a symlink to itself" "/etc/postfix/main.cf: Too many levels of symbolic links" "${TLS[@]}"
fresh; rm "$R/etc/dovecot/conf.d/10-ssl.conf"; mkfifo "$R/etc/dovecot/conf.d/10-ssl.conf"
# Every reader of conf.d opens with O_NONBLOCK and checks fstat first (src/base/rootfs.c).
LIMIT=5 smtps "tree: 10-ssl.conf is a FIFO (must not block)" "10-ssl.conf: not a regular file" "${TLS[@]}"

# Read-only tree: a read-only tmpfs in a private mount namespace.
fresh
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	N=$((N + 1))
	ro=$W/ro; mkdir -p "$ro"
	out=$(timeout 30 unshare -m sh -c '
		mount -t tmpfs tmpfs "$1" && cp -a "$2/." "$1/" && mount -o remount,ro "$1" || exit 99
		b=$(cd "$1" && find . -printf "%p %y %m\n" | sort; find . -type f -exec sha256sum {} + | sort)
		"$3" apply --mode=smtps --root="$1" --cert="$4" --key="$5" 2>&1; echo "rc=$?"
		a=$(cd "$1" && find . -printf "%p %y %m\n" | sort; find . -type f -exec sha256sum {} + | sort)
		[ "$a" = "$b" ] && echo same' _ "$ro" "$R" "$OP25B" "$CERT" "$KEY")
	if printf '%s' "$out" | grep -q '^rc=2$' && printf '%s' "$out" | grep -q 'Read-only file system' &&
		printf '%s' "$out" | grep -qx same; then ok "tree: read-only file system"
	elif printf '%s' "$out" | grep -q 'rc=99\|^$'; then skip "tree: read-only file system (cannot mount a tmpfs here)"
	else fail "tree: read-only file system: $out"; fi
else
	skip "tree: read-only file system (no unshare -m: not root or no mount namespaces)"
fi

# ---- state directory and journal ----
S=var/lib/op25b
fresh; mkdir -p "$R/var/lib"; mkdir -m 700 "$W/elsewhere"; ln -s "$W/elsewhere" "$R/$S"
smtps "state: the dir is a symlink" "$R/$S: state directory is a symlink; refusing it" "${TLS[@]}"
fresh; mkdir -p -m 700 "$R/$S"; chown 1234 "$R/$S"
smtps "state: owned by another user" "$R/$S: state directory is owned by uid 1234, not by uid $(id -u)" "${TLS[@]}"
fresh; mkdir -p "$R/$S"; chmod 755 "$R/$S"
smtps "state: mode 0755" "$R/$S: state directory has mode 0755; it must be 0700" "${TLS[@]}"
hostile "state: mode 0755 (revert)" "state directory has mode 0755; it must be 0700" revert --root="$R"
hostile "state: mode 0755 (status)" "state directory has mode 0755; it must be 0700" status --root="$R"
fresh; mkdir -p "$R/var/lib"; : > "$R/$S"
smtps "state: a regular file" "$R/$S: state directory is not a directory" "${TLS[@]}"
# The lock is a flock on the root directory, not a file: a planted STATE/lock link is never
# opened, and what it points to is untouched.
fresh; mkdir -p -m 700 "$R/$S"; ln -s "$W/lock-victim" "$R/$S/lock"; printf 'victim\n' > "$W/lock-victim"; chmod 644 "$W/lock-victim"
"$OP25B" apply -q --mode=smtps --root="$R" "${TLS[@]}" >"$W/lock.out" 2>&1; rc=$?
check "state: a planted lock link is not followed (exit $rc, target as it was)" \
	sh -c "[ $rc = 0 ] && [ \"\$(cat '$W/lock-victim')\" = victim ] && [ \"\$(stat -c %a '$W/lock-victim')\" = 644 ]"

# A journal with one applied transaction, then damaged.
applied() { fresh; "$OP25B" apply -q --mode=smtps --root="$R" "${TLS[@]}" || fail "setup: apply"; M=$R/$S/tx/000001/meta; }
applied; sed -i 's/^mode smtps/mode bogus/' "$M"
smtps "journal: unknown mode in meta (apply)" "$S/tx/000001/meta:2: corrupted journal: unknown mode" "${TLS[@]}"
hostile "journal: unknown mode in meta (revert)" "$S/tx/000001/meta:2: corrupted journal: unknown mode" revert --root="$R"
hostile "journal: unknown mode in meta (status)" "$S/tx/000001/meta:2: corrupted journal: unknown mode" status --root="$R"
applied; : > "$M"
hostile "journal: empty meta" "$S/tx/000001/meta:0: corrupted journal: incomplete" revert --root="$R"
applied; sed -i '1s/.*/op25b-journal 9/' "$M"
hostile "journal: unknown version" "$S/tx/000001/meta:1: corrupted journal: not an op25b journal of version 1" revert --root="$R"
applied; printf 'rm -rf /\n' >> "$M"
hostile "journal: unknown line in meta" "corrupted journal: unknown line" revert --root="$R"
applied; sed -i 's/^file existed=1 uid=0/file existed=1 uid=zero/' "$M"
hostile "journal: bad file line" "corrupted journal: bad file line" revert --root="$R"
applied; sed -i '0,/ \/etc\/postfix\// s// etc\/postfix\//' "$M"
hostile "journal: relative file path" "corrupted journal: bad file path" revert --root="$R"
applied; printf 'tampered\n' >> "$R/$S/tx/000001/orig.0"
hostile "journal: a copy altered since" "$S/tx/000001/orig.0: corrupted journal: the copy does not match its recorded hash" revert --root="$R"
applied; rm "$R/$S/tx/000001/orig.0"; mkfifo "$R/$S/tx/000001/orig.0"
hostile "journal: a copy replaced by a FIFO (must not block)" "$S/tx/000001/orig.0: corrupted journal: not a regular file" revert --root="$R"
applied; rm "$M"; mkfifo "$M"
hostile "journal: meta replaced by a FIFO (must not block)" "$S/tx/000001/meta:0: corrupted journal: not a regular file" status --root="$R"
applied; : > "$R/$S/tx/junk"
hostile "journal: a stray file in tx/" "$S/tx/junk: unexpected entry in the journal" revert --root="$R"
applied; mkdir -p "$W/victim"; echo precious > "$W/victim/data"; ln -s "$W/victim" "$R/$S/tx/000002.tmp"
hostile "journal: tx/N.tmp a symlink to a directory elsewhere" "$S/tx/000002.tmp: unexpected entry in the journal (not a directory)" status --root="$R"
check "journal: ... and the directory it points to was not emptied" test "$(cat "$W/victim/data" 2>/dev/null)" = precious

echo "# hostile cases: $N"
check "the catalogue has at least 40 cases ($N)" test "$N" -ge 40
finish
