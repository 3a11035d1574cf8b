#!/bin/bash
# root.sh RELEASE: print the path of a cached Debian RELEASE root (bullseye, bookworm, trixie), built
# once with mmdebstrap from this machine's apt mirror and kept under $OP25B_DISTRO_CACHE
# (/var/cache/op25b-distro). The cache key is the release, the package list, the debconf answers and
# this script's build recipe: change any and a new root is built; a root missing its completion
# mark (an interrupted build) is built again. The root is never changed after its build: the tests
# run on an overlay of it (tests/distro/ns.sh).
#
# Exit 0 with the path on stdout; exit 77 with the reason on stderr when the root cannot be built
# here (not root, no mmdebstrap, the mirror unreachable); exit 1 when the build itself fails.
# Prints "# root RELEASE: built in N s" or "# root RELEASE: cached" on stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/releases.sh"

rel=${1:?usage: root.sh RELEASE}
release_known "$rel" || { echo "root.sh: unknown release '$rel' (one of: $RELEASES)" >&2; exit 2; }
CACHE=${OP25B_DISTRO_CACHE:-/var/cache/op25b-distro}

skip77() { echo "$*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip77 "not root (mmdebstrap and the namespaces need root)"
command -v mmdebstrap >/dev/null || skip77 "mmdebstrap is not installed (tests/deps.sh installs it)"

# Everything that shapes the root goes into the key.
PKGS=$(distro_packages "$rel")
RECIPE="$PKGS|$(debconf_answers)|$(sed -n '/^# recipe-begin/,/^# recipe-end/p' "$0")"
KEY=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
ROOT=$CACHE/$rel-$KEY

mkdir -p "$CACHE"
exec 9>"$CACHE/$rel.lock"
flock 9
if [ -f "$ROOT.done" ] && [ -x "$ROOT/bin/sh" ]; then
	echo "# root $rel: cached ($ROOT)" >&2
	echo "$ROOT"
	exit 0
fi

MIRROR=$(apt_mirror)
[ -n "$MIRROR" ] || skip77 "no Debian mirror in /etc/apt/sources.list* (set OP25B_DISTRO_MIRROR)"
command -v curl >/dev/null || skip77 "curl is not installed (tests/deps.sh installs it)"
timeout 20 curl -fsS -o /dev/null "$MIRROR/dists/$rel/InRelease" 2>/dev/null ||
	skip77 "the mirror $MIRROR does not serve $rel (cannot fetch dists/$rel/InRelease)"

# Older roots of this release (another key) are replaced.
rm -rf "$CACHE/$rel"-*.tmp
for old in "$CACHE/$rel"-*; do
	case $old in "$ROOT"|"$ROOT.done"|*.lock) ;; *) [ -e "$old" ] && rm -rf "$old" ;; esac
done
rm -rf "$ROOT" "$ROOT.done"

t0=$(date +%s)
TMP=$ROOT.tmp
log=$CACHE/$rel.build.log
# recipe-begin (this block is part of the cache key)
ANSWERS=$(debconf_answers)
# No documentation, man pages or translations: a third of the size. --variant=apt: Essential +
# apt, then exactly the packages named (and their dependencies, no recommends). Postfix is
# preseeded "No configuration" and mmdebstrap's policy-rc.d keeps every service from starting.
if ! mmdebstrap --variant=apt --mode=root --include="${PKGS// /,}" \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--essential-hook="printf '%s\n' '$ANSWERS' | chroot \"\$1\" debconf-set-selections" \
	--customize-hook='chroot "$1" sh -c "rm -f /etc/machine-id; touch /etc/machine-id"' \
	"$rel" "$TMP" "deb $MIRROR $rel main" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	rm -rf "$TMP"
	echo "root.sh: mmdebstrap $rel failed (log: $log)" >&2
	exit 1
fi
# recipe-end
mv "$TMP" "$ROOT"
root_versions "$ROOT" >"$ROOT.done"
echo "# root $rel: built in $(($(date +%s) - t0)) s ($ROOT)" >&2
echo "$ROOT"
