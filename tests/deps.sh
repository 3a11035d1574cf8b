#!/bin/sh
# Install the Debian packages that building, the demo and the tests need.
# Used by `make demo`, `make check` and .ci/run. Installs only what is missing; never starts
# services on the host (a policy-rc.d denies that for the duration of the install).
set -eu

PKGS="build-essential pkg-config libaugeas-dev augeas-tools augeas-lenses libsystemd-dev check
libssl-dev libjansson-dev openssl postfix dovecot-core dovecot-imapd dovecot-pop3d libsasl2-modules swaks libnet-ssleay-perl
valgrind util-linux dbus firewalld rpm rpmlint clang libclang-rt-14-dev groff-base man-db
python3 iproute2 nftables procps time curl strace mmdebstrap ansible-core"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/deps.sh: missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi

echo "tests/deps.sh: installing:$missing"
# Postfix asks how to configure itself: "No configuration" leaves /etc/postfix/main.cf absent,
# which is what a test tree should not depend on anyway.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=1
fi
cleanup() { [ "$made_policy" -eq 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
