# Shared by tests/e2e/*.sh and tests/t-e2e.sh (source me): where the two mail servers live and
# listen, and bounded waits. E2E must be set (a fresh directory, mode 755: postfix and the mailbox
# owner traverse it). The addresses are loopback ones that nothing else uses; t-e2e.sh also runs
# everything in a private network namespace, so they cannot clash with the host's services.
: "${E2E:?E2E must name the scratch directory}"
HOME_IP=${HOME_IP:-127.77.25.1}   # the home server behind the ISP
ISP_IP=${ISP_IP:-127.77.25.2}     # the ISP's submission server
TAP_IP=${TAP_IP:-127.77.25.3}     # the wire tap between them
VUID=${VUID:-5000}                # numeric owner of every maildir (no passwd entry needed)
PKI=$E2E/pki
H=$E2E/home HPF=$E2E/home/etc/postfix HDD=$E2E/home/etc/dovecot
I=$E2E/isp IPF=$E2E/isp/etc/postfix IDD=$E2E/isp/etc/dovecot

now_s() { date +%s; }
# wait_port IP PORT [SECS]: until something accepts connections there.
wait_port() {
	local t=$(($(now_s) + ${3:-10}))
	until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
		[ "$(now_s)" -ge "$t" ] && { echo "timeout waiting for $1:$2" >&2; return 1; }
		sleep 0.05
	done
}
# wait_closed IP PORT [SECS]: until nothing accepts connections there.
wait_closed() {
	local t=$(($(now_s) + ${3:-10}))
	while (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
		[ "$(now_s)" -ge "$t" ] && { echo "timeout waiting for $1:$2 to close" >&2; return 1; }
		sleep 0.05
	done
}
# wait_log FILE ERE [SECS]: until a line of FILE matches.
wait_log() {
	local t=$(($(now_s) + ${3:-15}))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		[ "$(now_s)" -ge "$t" ] && { echo "timeout waiting for /$2/ in $1" >&2; return 1; }
		sleep 0.1
	done
}
# wait_file PATH [SECS]: until PATH exists (a socket, a pid file).
wait_file() {
	local t=$(($(now_s) + ${2:-10}))
	until [ -e "$1" ]; do
		[ "$(now_s)" -ge "$t" ] && { echo "timeout waiting for $1" >&2; return 1; }
		sleep 0.05
	done
}
