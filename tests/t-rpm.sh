#!/bin/bash
# The RPM: `make rpm`, rpmlint, the scriptlets and the payload; then install, upgrade and erase it in
# throwaway roots. `rpm --root R` runs the scriptlets chrooted into R, so R holds /bin/sh, grep,
# postconf (apply validates with it), every shared library they and op25b need, Augeas' stock
# lenses, and a fixture Postfix/Dovecot tree with a certificate. Inside that chroot op25b runs with
# root "/" and must find out by itself that it cannot restart anything.
. "$(dirname "$0")/lib/testlib.sh"

if ! command -v rpmbuild >/dev/null 2>&1 || ! command -v rpm >/dev/null 2>&1; then
	skip "rpmbuild or rpm is not installed (Debian: apt-get install rpm)"
	finish
	exit
fi

CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"
CONF=/etc/op25b/op25b.conf

# ---- build ----------------------------------------------------------------------------------
# Our own build and rpm directories: nothing of the developer's build/ is touched.
B=$SCRATCH/build RPMDIR=$SCRATCH/rpm
if make -s -C "$TOP" rpm B="$B" RPMDIR="$RPMDIR" > "$SCRATCH/make-rpm.log" 2>&1; then
	ok "make rpm"
else
	fail "make rpm"; tail -n 30 "$SCRATCH/make-rpm.log"
	finish
	exit
fi
RPM1=$(ls "$RPMDIR"/RPMS/*/op25b-[0-9]*.rpm 2>/dev/null | head -n 1)
SRPM=$(ls "$RPMDIR"/SRPMS/op25b-*.src.rpm 2>/dev/null | head -n 1)
check "binary and source packages written under RPMDIR/RPMS and RPMDIR/SRPMS" test -s "$RPM1" -a -s "$SRPM"
check "the tarball unpacks into op25b-VERSION/ and holds the spec, the lens and the man pages" bash -c \
	"tar tzf '$B'/op25b-*.tar.gz | grep -qx 'op25b-[0-9.]*/op25b.spec' &&
	 tar tzf '$B'/op25b-*.tar.gz | grep -qx 'op25b-[0-9.]*/lenses/op25b_conf.aug' &&
	 tar tzf '$B'/op25b-*.tar.gz | grep -qx 'op25b-[0-9.]*/man/op25b.conf.5' &&
	 ! tar tzf '$B'/op25b-*.tar.gz | grep -q '/build/\|\.o$'"

if command -v rpmlint >/dev/null 2>&1; then
	if out=$(cd "$TOP" && rpmlint -r op25b.rpmlintrc op25b.spec "$SRPM" "$RPM1" 2>&1); then
		ok "rpmlint: $(printf '%s\n' "$out" | grep -o '[0-9]* errors, [0-9]* warnings' | tail -n 1)"
	else
		fail "rpmlint"; printf '%s\n' "$out" | grep ': [EW]: '
	fi
else
	skip "rpmlint is not installed"
fi

# ---- scriptlets and payload -----------------------------------------------------------------
S=$(rpm -qp --scripts "$RPM1" 2>/dev/null)
post=$(printf '%s\n' "$S" | sed -n '/^postinstall scriptlet/,/^[a-z]* *scriptlet/p' | sed '1d;/scriptlet/d')
preun=$(printf '%s\n' "$S" | sed -n '/^preuninstall scriptlet/,/^[a-z]* *scriptlet/p' | sed '1d;/scriptlet/d')
check "%post: op25b apply --config=$CONF --origin=rpm --quiet (its transactions tagged rpm)" \
	grep -q "/op25b apply --config=$CONF --origin=rpm --quiet || :" <<<"$post"
check "%post: only when the file exists and sets a mode" \
	grep -q "\[ -f $CONF \] &&" <<<"$post"
check "%post: the mode test is grep for 'mode =' with a value" grep -q "grep -Eq '^\[\[:space:\]\]\*mode" <<<"$post"
# shellcheck disable=SC2016 # the literal "$1" of the scriptlet
check "%preun: revert only on erase (\$1 = 0)" grep -q 'if \[ "$1" -eq 0 \]; then' <<<"$preun"
check "%preun: op25b revert --origin=rpm --quiet, every call (only what %post applied)" bash -c \
	"printf '%s\n' \"\$1\" | grep -q '/op25b revert ' && ! printf '%s\n' \"\$1\" | grep '/op25b revert ' | grep -qv -- '--origin=rpm --quiet'" _ "$preun"
check "Requires: diffutils (dry-run runs diff)" bash -c "rpm -qp --requires '$RPM1' 2>/dev/null | grep -qx 'diffutils'"
check "every scriptlet ends with 'exit 0'" bash -c \
	"[ \"\$(printf '%s\n' \"\$1\" | tail -n 1)\" = 'exit 0' ] && [ \"\$(printf '%s\n' \"\$2\" | tail -n 1)\" = 'exit 0' ]" _ "$post" "$preun"
check "every op25b call in a scriptlet ends with '|| :' (directly or through a fallback)" bash -c \
	"! printf '%s\n' \"\$1\" | grep '/op25b ' | grep -v '|| :\$' | grep -v '||\$' | grep -q ." _ "$post$preun"
check "no %postun or %pre (nothing else runs)" bash -c "! grep -q '^postuninstall scriptlet\|^preinstall scriptlet' <<<\"\$1\"" _ "$S"

files=$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms}\n]' "$RPM1" 2>/dev/null)
has_file() { grep -q "^$1 " <<<"$files"; }
for f in /usr/sbin/op25b /usr/share/op25b/lenses/op25b_conf.aug /usr/share/op25b/lenses/op25b_postfix_master.aug \
	/usr/share/bash-completion/completions/op25b; do
	check "payload: $f" has_file "$f"
done
check "payload: op25b.8 and op25b.conf.5" bash -c \
	"grep -q '^/usr/share/man/man8/op25b\.8' <<<\"\$1\" && grep -q '^/usr/share/man/man5/op25b\.conf\.5' <<<\"\$1\"" _ "$files"
check "payload: $CONF is %config(noreplace), mode 0600" grep -qx "$CONF cn -rw-------" <<<"$files"
check "payload: /var/lib/op25b is owned, mode 0700" grep -q "^/var/lib/op25b  *drwx------" <<<"$files"
if command -v rpm2cpio >/dev/null 2>&1 && command -v cpio >/dev/null 2>&1; then
	mkdir -p "$SCRATCH/payload"
	(cd "$SCRATCH/payload" && rpm2cpio "$RPM1" | cpio -idm --quiet 2>/dev/null)
	check "the shipped $CONF is etc/op25b.conf and sets no mode (installing changes nothing)" \
		bash -c "cmp -s '$SCRATCH/payload$CONF' '$TOP/etc/op25b.conf' &&
		         ! grep -Eq '^[[:space:]]*mode[[:space:]]*=' '$SCRATCH/payload$CONF'"
else
	skip "the shipped $CONF: rpm2cpio or cpio is not installed"
fi

why=""
if [ "$(id -u)" -ne 0 ]; then
	why="rpm --root chroots, which needs root"
elif ! command -v postconf >/dev/null 2>&1; then
	why="postconf is not installed (%post's apply validates with it)"
elif ! mknod -m 666 "$SCRATCH/null" c 1 3 2>/dev/null; then
	why="cannot create /dev/null for the root (mknod is not allowed here)"
fi
if [ -n "$why" ]; then
	skip "install/upgrade/erase in a throwaway root: $why"
	finish
	exit
fi

# An upgrade needs a newer package: the same sources, Release 2.
mkdir -p "$SCRATCH/rpm2"
sed 's/^Release:.*/Release:        2%{?dist}/' "$TOP/op25b.spec" > "$SCRATCH/op25b-r2.spec"
if rpmbuild -bb --nodeps --define "_topdir $SCRATCH/rpm2" --define "_sourcedir $B" "$SCRATCH/op25b-r2.spec" \
	> "$SCRATCH/rpm2.log" 2>&1; then
	RPM2=$(ls "$SCRATCH"/rpm2/RPMS/*/op25b-[0-9]*-2*.rpm | head -n 1)
else
	fail "rpmbuild of Release 2 for the upgrade"; tail -n 20 "$SCRATCH/rpm2.log"
	finish
	exit
fi

# ---- throwaway roots ------------------------------------------------------------------------
copy_with_libs() { # ROOT FILE...: each file and the shared libraries it loads, at the same paths
	local root=$1 f l
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' | while read -r l; do
			[ -e "$root$l" ] && continue
			mkdir -p "$root$(dirname "$l")"
			cp -L "$l" "$root$l"
		done
	done
}

dlopened() { ldconfig -p | awk -v so="$1" '$1 == so { print $NF; exit }'; }

make_root() { # -> path of a root with the debian12 fixture, the certificate and the tools
	local r d
	r=$(new_root debian12)
	mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib" "$r/usr/lib64" "$r/dev" "$r/proc" "$r/tmp" "$r/var/lib"
	# usrmerge, as on Debian 12 (and Fedora): /bin -> usr/bin etc.
	for d in bin sbin lib lib64; do [ -L "/$d" ] && ln -s "usr/$d" "$r/$d"; done
	chmod 1777 "$r/tmp"
	mknod -m 666 "$r/dev/null" c 1 3
	# op25b opens libaugeas and libsystemd with dlopen(): ldd does not list them, the spec's
	# Requires bring them (augeas-libs, systemd-libs).
	copy_with_libs "$r" "$(readlink -f /bin/sh)" /usr/bin/grep /usr/bin/cat \
		"$(command -v postconf)" "$(command -v postmap)" "$OP25B" \
		"$(dlopened libaugeas.so.0)" "$(dlopened libsystemd.so.0)"
	[ -e "$r/bin/sh" ] || ln -s "$(basename "$(readlink -f /bin/sh)")" "$r/usr/bin/sh"
	rm -f "$r$OP25B" # only its libraries: the package brings the program
	mkdir -p "$r/usr/share/augeas"
	cp -a /usr/share/augeas/lenses "$r/usr/share/augeas/"
	[ -d /usr/lib/postfix ] && mkdir -p "$r/usr/lib/postfix" && cp -a /usr/lib/postfix/. "$r/usr/lib/postfix/"
	printf 'root:x:0:0:root:/root:/bin/sh\npostfix:x:101:101::/var/spool/postfix:/usr/sbin/nologin\n' > "$r/etc/passwd"
	printf 'root:x:0:\npostfix:x:101:\n' > "$r/etc/group"
	echo "$r"
}

site_conf() { # ROOT [MODE-LINE]: the site's configuration, there before the package
	mkdir -p "$1/etc/op25b"
	printf '# site configuration\n%s\ncert = %s\nkey = %s\n' "${2-mode = smtps}" "$CERT" "$KEY" > "$1$CONF"
	chmod 600 "$1$CONF"
}

rpm_in() { local r=$1; shift; rpm --root "$r" --dbpath /var/lib/rpm --nodeps --force-debian "$@"; }

# The files op25b manages, with mtimes (an untouched file keeps its mtime).
etc_state() { (cd "$1" && find etc/postfix etc/dovecot -printf '%p %s %T@ %m\n' | sort); }
same_etc() { same_tree "$1/etc/postfix" "$2/etc/postfix" && same_tree "$1/etc/dovecot" "$2/etc/dovecot"; }
smtps_enabled() { # ROOT: Postfix's own view: 465 served with TLS wrapper mode, the certificate set
	local svc
	svc=$(postconf -c "$1/etc/postfix" -M 2>/dev/null | awk '($1 == "smtps" || $1 == "submissions") && $2 == "inet"')
	case $svc in *"smtpd_tls_wrappermode=yes"*) ;; *) return 1 ;; esac
	[ "$(postconf -c "$1/etc/postfix" -h smtpd_tls_cert_file)" = "$CERT" ]
}
relayhost_of() { postconf -c "$1/etc/postfix" -h relayhost 2>/dev/null; }
no_scriptlet_trouble() { ! grep -qi 'scriptlet failed\|%post.*failed\|%preun.*failed\|error:' "$1"; }

# ---- 1. install with the site's configuration, upgrade, erase ----------------------------------
R=$(make_root)
site_conf "$R"
orig=$SCRATCH/orig1; cp -a "$R" "$orig"
t0=$(date +%s.%N)
rpm_in "$R" -ivh "$RPM1" > "$SCRATCH/i1.out" 2>&1
rc=$?
check "install: rpm exit 0" test "$rc" -eq 0
check "install: no scriptlet failure" no_scriptlet_trouble "$SCRATCH/i1.out"
check "install: the site's $CONF is kept (%config(noreplace)); the shipped one is .rpmnew" \
	bash -c "grep -qx 'mode = smtps' '$R$CONF' && [ -f '$R$CONF.rpmnew' ]"
check "install: %post applied smtps (postconf -M: 465 enabled with TLS wrapper mode)" smtps_enabled "$R"
check "install: Dovecot got the certificate" grep -rqs "^ssl_cert = <$CERT" "$R/etc/dovecot"
check "install: the journal is in the root's /var/lib/op25b" \
	sh -c "'$OP25B' status --root='$R' | grep -qx 'smtps: applied'"
# Had op25b not seen that it runs offline (a chroot without systemd), the restart would have failed
# and apply rolled back: the checks above would fail.
check "install: no D-Bus, systemd or restart complaint from the chroot" \
	bash -c "! grep -qi 'bus\|systemd\|restart' '$SCRATCH/i1.out'"

# The admin applies submission by hand (the program on the host, the same journal in the root).
mkdir -p "$R/etc/op25b"; printf 'pw\n' > "$R/etc/op25b/relay.secret"; chmod 600 "$R/etc/op25b/relay.secret"
"$OP25B" apply --root="$R" --mode=submission --relayhost=smtp.isp.example.test --relay-user=u \
	--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN > "$SCRATCH/hand.out" 2>&1
check "by hand: submission applied on top (relayhost set)" test "$(relayhost_of "$R")" = "[smtp.isp.example.test]:587"
st=$("$OP25B" status --root="$R" 2>&1)
check "status: smtps applied by rpm, submission by hand" bash -c \
	"grep -A1 -x 'smtps: applied' <<<\"\$1\" | grep -qx '  applied by rpm' && grep -A1 -x 'submission: applied' <<<\"\$1\" | grep -qx '  applied by hand'" _ "$st"
postconf -c "$R/etc/postfix" -n > "$SCRATCH/pc-before.txt" 2>&1

before=$(etc_state "$R")
rpm_in "$R" -Uvh "$RPM2" > "$SCRATCH/u1.out" 2>&1
rc=$?
check "upgrade: rpm exit 0" test "$rc" -eq 0
check "upgrade: no scriptlet failure" no_scriptlet_trouble "$SCRATCH/u1.out"
check "upgrade: the same configuration changes nothing (sizes, mtimes, modes)" test "$before" = "$(etc_state "$R")"
check "upgrade: still applied (the old package's %preun did not revert)" smtps_enabled "$R"
check "upgrade: one instance, Release 2" bash -c \
	"[ \"\$(rpm --root '$R' --dbpath /var/lib/rpm -q op25b | wc -l)\" = 1 ] && rpm --root '$R' --dbpath /var/lib/rpm -q op25b | grep -q -- '-2'"

rpm_in "$R" -e op25b > "$SCRATCH/e1.out" 2>&1
rc=$?
check "erase: rpm exit 0" test "$rc" -eq 0
check "erase: no scriptlet failure" no_scriptlet_trouble "$SCRATCH/e1.out"
check "erase: %preun reverted smtps only (465 no longer in master.cf)" bash -c "$(declare -f smtps_enabled); CERT='$CERT'; ! smtps_enabled '$R'"
check "erase: submission, applied by hand, stays applied and working (postconf -n: relayhost, SASL, no warning)" bash -c \
	"out=\$(postconf -c '$R/etc/postfix' -n 2>&1) && ! grep -qi 'warning' <<<\"\$out\" &&
	 grep -qx 'relayhost = \[smtp.isp.example.test\]:587' <<<\"\$out\" && grep -qx 'smtp_sasl_auth_enable = yes' <<<\"\$out\""
check "erase: exactly one line about the mode left alone (submission, applied by hand)" bash -c \
	"[ \"\$(grep -c 'left applied' '$SCRATCH/e1.out')\" = 1 ] && grep -q '^op25b: .*submission: left applied: applied by hand' '$SCRATCH/e1.out'"
"$OP25B" revert --root="$R" > "$SCRATCH/hand-revert.out" 2>&1
check "the admin's own revert afterwards: Postfix and Dovecot files have their original bytes and modes" same_etc "$orig" "$R"
check "erase: package gone" bash -c "! rpm --root '$R' --dbpath /var/lib/rpm -q op25b >/dev/null 2>&1"
check "erase: /usr/sbin/op25b gone" test ! -e "$R/usr/sbin/op25b"
echo "# install + upgrade + erase: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

# ---- 2. no mode configured: installing changes nothing ----------------------------------------
R=$(make_root)
orig=$SCRATCH/orig2; cp -a "$R" "$orig"
rpm_in "$R" -ivh "$RPM1" > "$SCRATCH/i2.out" 2>&1
rc=$?
check "no mode: install exit 0" test "$rc" -eq 0
check "no mode: nothing printed by op25b" bash -c "! grep -q 'op25b:' '$SCRATCH/i2.out'"
check "no mode: the shipped $CONF was installed, 0600" \
	bash -c "[ \"\$(stat -c %a '$R$CONF')\" = 600 ] && cmp -s '$R$CONF' '$TOP/etc/op25b.conf'"
check "no mode: Postfix and Dovecot untouched" same_etc "$orig" "$R"
check "no mode: nothing in the journal" bash -c "[ -z \"\$(ls -A '$R/var/lib/op25b' 2>/dev/null)\" ]"
# A mode without its certificate is the admin's mistake: %post reports it, the install goes on.
site_conf "$R" "mode = smtps"
sed -i '/^cert\|^key/d' "$R$CONF"
rpm_in "$R" -Uvh --replacepkgs "$RPM1" > "$SCRATCH/r2.out" 2>&1
rc=$?
check "bad site configuration: reinstall exit 0, op25b's message shown" \
	bash -c "[ $rc -eq 0 ] && grep -q '^op25b: ' '$SCRATCH/r2.out'"
check "bad site configuration: Postfix and Dovecot untouched" same_etc "$orig" "$R"
rpm_in "$R" -e op25b > "$SCRATCH/e2.out" 2>&1
rc=$?
check "no mode: erase exit 0, Postfix and Dovecot untouched" bash -c "[ $rc -eq 0 ] && ! grep -q 'op25b:' '$SCRATCH/e2.out'"
check "no mode: erase left the trees as they were" same_etc "$orig" "$R"

# ---- 3. a failing apply does not fail the transaction ------------------------------------------
R=$(make_root)
site_conf "$R"
printf 'this line is not Postfix syntax\n' >> "$R/etc/postfix/main.cf"
touch -d '-1 hour' "$R/etc/postfix/main.cf"
orig=$SCRATCH/orig3; cp -a "$R" "$orig"
rpm_in "$R" -ivh "$RPM1" > "$SCRATCH/i3.out" 2>&1
rc=$?
check "broken main.cf: install exit 0" test "$rc" -eq 0
check "broken main.cf: op25b said what is wrong, with file and line" grep -q '^op25b: .*main.cf:[0-9]' "$SCRATCH/i3.out"
check "broken main.cf: package installed anyway" sh -c "rpm --root '$R' --dbpath /var/lib/rpm -q op25b >/dev/null"
check "broken main.cf: nothing was changed" same_etc "$orig" "$R"
rpm_in "$R" -e op25b > "$SCRATCH/e3.out" 2>&1
check "broken main.cf: erase exit 0" test $? -eq 0

# KEEP=DIR keeps rpm's output of every step for a look.
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$SCRATCH"/*.out "$SCRATCH"/*.log "$KEEP/"
finish
