#!/bin/bash
# The Ansible module (contrib/ansible, collection op25b.mailserver) with Debian's real ansible-core,
# against localhost on --root trees: changed on the first run, ok on the second, check mode changes
# nothing (and diff mode shows the diff), state=absent reverts byte for byte, the relay password
# (a no_log parameter, passed on stdin) appears in no output, argv or file but the password map.
. "$(dirname "$0")/lib/testlib.sh"

command -v ansible-playbook >/dev/null || { skip "ansible-playbook is not installed (Debian: ansible-core)"; finish; exit 0; }
PY=/usr/bin/python3
[ -x "$PY" ] || { skip "no /usr/bin/python3 for Ansible's modules"; finish; exit 0; }
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"
export ANSIBLE_COLLECTIONS_PATH=$TOP/contrib/ansible ANSIBLE_LOCAL_TEMP=$SCRATCH/ansible-tmp \
	ANSIBLE_HOME=$SCRATCH/ansible-home ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
	ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_FORCE_COLOR=0
OUT=$SCRATCH/out

root=$(new_root debian12)
orig=$SCRATCH/orig; cp -a "$root" "$orig"
printf 'isp-Secret-77\n' > "$SCRATCH/pw"
cat > "$SCRATCH/play.yml" <<EOF2
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: $PY
    common: &common
      root: "{{ root }}"
      binary: $OP25B
      no_restart: true
  tasks:
    - name: smtps
      op25b.mailserver.op25b:
        <<: *common
        mode: smtps
        cert: $CERT
        key: $KEY
      when: (st | default('present')) == 'present'
    - name: submission through the ISP
      op25b.mailserver.op25b:
        <<: *common
        mode: submission
        relayhost: "[isp.example]:587"
        relay_user: homeuser
        relay_password: "{{ lookup('file', '$SCRATCH/pw') }}"
        mechanisms: PLAIN
      when: (st | default('present')) == 'present'
    - name: revert everything
      op25b.mailserver.op25b:
        <<: *common
        state: absent
      when: (st | default('present')) == 'absent'
EOF2

# play ROOT [ansible-playbook options]: run; $OUT holds the output, recap N reads its PLAY RECAP.
play() { local r=$1; shift; ansible-playbook -i localhost, -e root="$r" "$@" "$SCRATCH/play.yml" >"$OUT" 2>&1; }
recap() { sed -n "s/^localhost *:.* $1=\([0-9]*\).*/\1/p" "$OUT"; }
show() { grep -E '^(TASK|changed|ok|skipping|fatal|localhost)' "$OUT" | sed 's/^/#   /' | cut -c1-160; }
# adhoc ARGS: the module alone; $OUT holds "localhost | CHANGED => {...}", jq-like checks on it.
adhoc() { ansible localhost -i localhost, -c local -e ansible_python_interpreter=$PY -m op25b.mailserver.op25b \
	-a "root=$root binary=$OP25B no_restart=true $*" >"$OUT" 2>&1; }
J() { python3 -c 'import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t[t.index("{"):]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT" "$1"; }

play "$root" --check --diff; rc=$?
echo "# check mode (--check --diff):"; show
check "check mode: exit 0, both tasks would change" test "$rc:$(recap changed):$(recap failed)" = "0:2:0"
check "check mode: nothing was written" same_tree "$orig" "$root"
check "check mode + diff: op25b's unified diff is shown" grep -q "^+smtpd_tls_cert_file.*$CERT" "$OUT"

play "$root" -v; rc=$?
echo "# first run:"; show
check "first run: exit 0, changed=2" test "$rc:$(recap changed)" = "0:2"
check "first run: postconf sees the relay, the map holds the password" \
	bash -c "[ \"\$(postconf -c '$root/etc/postfix' -h relayhost)\" = '[isp.example]:587' ] && grep -q 'isp-Secret-77' '$root/etc/postfix/ispinfo'"
check "the password is in no Ansible output (-v; no_log, stdin)" bash -c "! grep -q isp-Secret-77 '$OUT'"

play "$root"; rc=$?
echo "# second run:"; show
check "second run: exit 0, ok=2, changed=0" test "$rc:$(recap ok):$(recap changed)" = "0:2:0"

adhoc "mode=smtps cert=$CERT key=$KEY"
check "the module returns op25b's report: changed false, files, router ports, schema 1" \
	J 'd["changed"] is False and d["router_ports"] == [465, 993, 995] and d["op25b"]["schema"] == 1 and d["files"] == []'

play "$root" -e st=absent; rc=$?
echo "# state=absent:"; show
check "state=absent: exit 0, changed=1" test "$rc:$(recap changed)" = "0:1"
check "state=absent: the tree is byte for byte as before" same_tree "$orig" "$root"
play "$root" -e st=absent; rc=$?
check "state=absent again: ok, changed=0" test "$rc:$(recap changed)" = "0:0"

adhoc "mode=smtps cert=$SCRATCH/missing.pem key=$KEY"; rc=$?
check "a missing certificate: the task fails with op25b's message and exit status" \
	bash -c "[ $rc != 0 ] && grep -q 'FAILED' '$OUT' && grep -q 'missing.pem' '$OUT' && grep -q '\"rc\": 2' '$OUT'"
finish
