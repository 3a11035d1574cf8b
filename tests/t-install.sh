#!/bin/bash
# make install PREFIX=/usr after a plain make: the binary is rebuilt for the new lens directory,
# and an installed binary finds its lenses beside it (PREFIX/share/op25b/lenses) wherever it was
# installed (DESTDIR, a moved tree); make uninstall removes what install put there, except the
# configuration file. Built in a copy of the source tree: the checkout's ./op25b is not touched.
. "$(dirname "$0")/lib/testlib.sh"

CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"
SRC=$SCRATCH/src D=$SCRATCH/dest
mkdir -p "$SRC"
(cd "$TOP" && cp -a Makefile mk src lenses man completion etc op25b.spec "$SRC/")
rm -rf "$SRC/build"

if make -s -C "$SRC" op25b >"$SCRATCH/make.log" 2>&1; then ok "make (default PREFIX)"
else fail "make"; cat "$SCRATCH/make.log"; finish; exit; fi
check "the default build looks in /usr/local/share" grep -qa /usr/local/share/op25b/lenses "$SRC/op25b"
if make -s -C "$SRC" install PREFIX=/usr DESTDIR="$D" >"$SCRATCH/make.log" 2>&1; then ok "make install PREFIX=/usr DESTDIR=..."
else fail "make install"; cat "$SCRATCH/make.log"; fi
check "make install PREFIX=/usr rebuilt the binary for /usr/share/op25b/lenses" \
	bash -c "grep -qa /usr/share/op25b/lenses '$D/usr/sbin/op25b' && ! grep -qa /usr/local/share/op25b '$D/usr/sbin/op25b'"
check "lenses, man pages, completion and the configuration file are installed" \
	test -f "$D/usr/share/op25b/lenses/op25b_postfix_master.aug" -a -f "$D/usr/share/man/man8/op25b.8" \
	-a -f "$D/usr/share/man/man5/op25b.conf.5" -a -f "$D/usr/share/bash-completion/completions/op25b" -a -f "$D/etc/op25b/op25b.conf"

# The installed binary (under DESTDIR: its compiled-in /usr/share/op25b/lenses does not exist
# here) finds the lenses relative to itself.
run_installed() { # BINARY: apply --dry-run on a fixture tree must parse master.cf with op25b's lens
	local root out
	root=$(new_root debian12)
	out=$("$1" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" --dry-run 2>&1) &&
		printf '%s' "$out" | grep -q '^+submissions' || { printf '  %s\n' "$out" | head -5; return 1; }
}
if [ -e /usr/share/op25b/lenses ]; then skip "installed binary: /usr/share/op25b/lenses exists on this host"
else check "the installed binary finds its lenses in ../share/op25b/lenses (DESTDIR install)" run_installed "$D/usr/sbin/op25b"; fi
mv "$D" "$SCRATCH/moved"
check "... and still after the whole tree is moved" run_installed "$SCRATCH/moved/usr/sbin/op25b"
mv "$SCRATCH/moved" "$D"

echo 'mode = smtps' >> "$D/etc/op25b/op25b.conf"
if make -s -C "$SRC" uninstall PREFIX=/usr DESTDIR="$D" >"$SCRATCH/make.log" 2>&1; then ok "make uninstall"
else fail "make uninstall"; cat "$SCRATCH/make.log"; fi
left=$(cd "$D" && find . -type f | sort)
check "make uninstall removed everything but the configuration file" test "$left" = "./etc/op25b/op25b.conf"
check "make uninstall removed the lens directory" test ! -e "$D/usr/share/op25b"
finish
