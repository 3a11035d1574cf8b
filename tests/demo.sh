#!/bin/sh
# The main job on a scratch copy of the Debian 12 fixture tree: apply smtps (show the diff),
# apply again (nothing to do), status, revert (original bytes back).
set -eu
cd "$(dirname "$0")/.."
demo=$(mktemp -d /tmp/op25b-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
cp -a fixtures/debian12/. "$demo/"
live=/etc/letsencrypt/live/mail.example.test
mkdir -p "$demo$live"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
	-subj /CN=mail.example.test -keyout "$demo$live/privkey.pem" -out "$demo$live/fullchain.pem" 2>/dev/null
cp -a "$demo" "$demo.orig"
trap 'rm -rf "$demo" "$demo.orig"' EXIT

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
say ./op25b apply --mode=smtps --domain=mail.example.test --root="$demo" --dry-run
./op25b apply --mode=smtps --domain=mail.example.test --root="$demo" --dry-run
say ./op25b apply --mode=smtps --domain=mail.example.test --root="$demo"
./op25b apply --mode=smtps --domain=mail.example.test --root="$demo"
say ./op25b apply --mode=smtps --domain=mail.example.test --root="$demo"
./op25b apply --mode=smtps --domain=mail.example.test --root="$demo"
say postconf -c "$demo/etc/postfix" -M submissions/inet
postconf -c "$demo/etc/postfix" -M submissions/inet
say ./op25b status --root="$demo"
./op25b status --root="$demo"
say ./op25b revert --root="$demo"
./op25b revert --root="$demo"
say diff -r --exclude=var "$demo.orig" "$demo"
diff -r --exclude=var "$demo.orig" "$demo" && echo "(no difference: the original bytes are back)"
