# Shared by tests/distro/*.sh (source me): the releases under test, what their roots hold, and where
# the packages come from.

# Oldest first: Debian 11, 12, 13.
RELEASES="bullseye bookworm trixie"
release_known() { case " $RELEASES " in *" $1 "*) return 0 ;; esac; return 1; }
release_number() { case $1 in bullseye) echo 11 ;; bookworm) echo 12 ;; trixie) echo 13 ;; esac; }

# The packages of every root: the mail servers and what runs them (systemd, D-Bus, firewalld), the
# tools the e2e checks use (swaks with TLS, curl, openssl, python3, iproute2), and op25b's build
# dependencies, each at that release's version.
distro_packages() {
	echo "postfix dovecot-core dovecot-imapd dovecot-pop3d libsasl2-modules systemd dbus firewalld" \
		"augeas-lenses augeas-tools libaugeas-dev build-essential pkg-config libsystemd-dev libssl-dev libjansson-dev check" \
		"ca-certificates openssl swaks libnet-ssleay-perl curl python3 iproute2 procps nftables"
}

# debconf answers given before any package is configured: Postfix "No configuration" (no main.cf,
# nothing to start; the tests write their own).
debconf_answers() { echo "postfix postfix/main_mailer_type select No configuration"; }

# The Debian archive this machine's apt uses (not the security one); OP25B_DISTRO_MIRROR overrides.
apt_mirror() {
	if [ -n "${OP25B_DISTRO_MIRROR:-}" ]; then echo "${OP25B_DISTRO_MIRROR%/}"; return; fi
	local f files=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || return 0
	cat "${files[@]}" |
		awk '/^[[:space:]]*deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }
			/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
		grep -E '/debian/?$' | sed -n '1s:/*$::p'
}

# root_versions ROOT: "package version" of what the support table reports.
root_versions() {
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Package} ${Version}\n' \
		postfix dovecot-core systemd firewalld openssl libssl-dev libaugeas-dev gcc 2>/dev/null
}
