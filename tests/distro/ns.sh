#!/bin/bash
# shellcheck disable=SC2016 # INIT is expanded by the inner shell
# ns.sh: run a command with a cached Debian root (tests/distro/root.sh) as `/`.
#
#   ns.sh run ROOT WORK CMD...   run CMD (through the root's /usr/bin/env, with a clean environment)
#                                inside new mount, pid, network, uts and ipc namespaces whose root
#                                (pivot_root) is an overlay of ROOT whose changes go to WORK/upper: the cached
#                                root is never written, and successive runs with the same WORK see
#                                each other's files (the op25b build, for example).
#   ns.sh clean WORK             remove WORK.
#
# Inside: the root's own programs and libraries; a fresh /proc (the new PID namespace: every process
# CMD leaves behind dies with it), /dev and /sys from the host (/sys/fs/cgroup writable, so that
# tests/lib/sysd.sh can boot the root's systemd in a cgroup of its own, exactly as on the host), a
# /tmp on disk (WORK/tmp: like the host's, directory sizes do not change as entries come and go),
# an empty tmpfs on /run, and a network namespace with only `lo`, up: the tests' loopback
# addresses cannot clash with the host's or another run's. The host's files and services are not
# touched; the mounts die with the namespace.
set -euo pipefail

die() { echo "ns.sh: $*" >&2; exit 1; }

case ${1:-} in
run)
	[ $# -ge 4 ] || die "usage: ns.sh run ROOT WORK CMD..."
	ROOT=$(realpath "$2"); WORK=$(realpath -m "$3"); shift 3
	[ -x "$ROOT/bin/sh" ] || die "$ROOT is not a root (no /bin/sh)"
	case $WORK in "$ROOT"|"$ROOT"/*) die "WORK must not be inside ROOT" ;; esac
	mkdir -p "$WORK/upper" "$WORK/work" "$WORK/merged"
	INIT='set -e
	M=$WORK/merged
	mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$WORK/upper,workdir=$WORK/work" "$M"
	mount -t proc proc "$M/proc"
	mount --rbind /sys "$M/sys"
	mount --rbind /dev "$M/dev"
	mkdir -p "$WORK/tmp"; chmod 1777 "$WORK/tmp"; mount --bind "$WORK/tmp" "$M/tmp"
	mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$M/run"
	hostname "op25b-$(basename "$ROOT" | cut -d- -f1)"
	ip link set lo up
	# pivot_root, not chroot: the root of this mount namespace becomes the overlay, so that
	# `nsenter -t PID -a` into it (tests/lib/sysd.sh exec) lands in the release too.
	cd "$M"; pivot_root . mnt; cd /
	umount -l /mnt
	exec /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb ${CI:+CI=$CI} "$@"'
	exec unshare --mount --propagation private --pid --fork --kill-child --net --uts --ipc \
		-- env ROOT="$ROOT" WORK="$WORK" CI="${CI:-}" sh -c "$INIT" sh "$@"
	;;
clean)
	[ $# = 2 ] || die "usage: ns.sh clean WORK"
	WORK=$(realpath -m "$2")
	# Only what run made: the overlay dirs (merged is an empty mount point outside the namespace).
	if [ -d "$WORK" ]; then
		grep -qs " $WORK/merged " /proc/self/mountinfo && die "$WORK/merged is mounted here"
		rm -rf "$WORK"   # never a mount point here: the mounts live in the dead namespace
	fi
	;;
*) echo "usage: ns.sh run ROOT WORK CMD... | clean WORK" >&2; exit 2 ;;
esac
