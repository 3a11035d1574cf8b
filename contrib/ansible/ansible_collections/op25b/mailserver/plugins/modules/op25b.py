#!/usr/bin/python
# -*- coding: utf-8 -*-
# Ansible module for op25b(8): apply or revert a mode, with "changed" taken from op25b's --json
# report (schema in man/op25b.8), check mode as --dry-run, diff mode from the report's "diff".
# The relay password goes to op25b on its standard input, never on its command line.

from __future__ import annotations

DOCUMENTATION = r'''
module: op25b
short_description: Make a mail server work behind an ISP that blocks outbound port 25
description:
  - Runs C(op25b apply) (I(state=present)) or C(op25b revert) (I(state=absent)) with C(--json).
  - C(changed) is op25b's own verdict; check mode runs C(--dry-run); diff mode shows the unified diff.
options:
  state:
    type: str
    choices: [present, absent]
    default: present
  mode:
    description: smtps or submission; required with I(state=present); with I(state=absent) the mode to revert (default all).
    type: str
    choices: [smtps, submission]
  domain:
    description: Use Let's Encrypt's certificate of this name (installs a certbot deploy hook).
    type: str
  cert:
    type: path
  key:
    type: path
  relayhost:
    type: str
  relay_user:
    type: str
  relay_password:
    description: The ISP password; passed on standard input (C(--relay-password-stdin)).
    type: str
    no_log: true
  relay_password_file:
    type: path
  mechanisms:
    type: str
  password_map:
    type: path
  zone:
    type: str
  root:
    type: path
  postfix_dir:
    type: path
  dovecot_dir:
    type: path
  state_dir:
    type: path
  config:
    type: path
  no_restart:
    type: bool
    default: false
  no_firewall:
    type: bool
    default: false
  timeout:
    type: int
  binary:
    description: The op25b program (default found in PATH, /usr/sbin, /usr/local/sbin).
    type: path
'''

EXAMPLES = r'''
- name: IMAPS/SMTPS with the Let's Encrypt certificate
  op25b.mailserver.op25b:
    mode: smtps
    domain: mail.example.org

- name: Relay outgoing mail through the ISP
  op25b.mailserver.op25b:
    mode: submission
    relayhost: "[smtp.isp.example]:587"
    relay_user: customer42
    relay_password: "{{ vault_isp_password }}"
'''

RETURN = r'''
changed:
  description: op25b's "changed".
  type: bool
files:
  description: The files written (would be written), with their action and op25b's edits.
  type: list
units:
  description: The units restarted or reloaded.
  type: list
router_ports:
  description: TCP ports the home router must forward.
  type: list
op25b:
  description: op25b's whole JSON report.
  type: dict
'''

import json

from ansible.module_utils.basic import AnsibleModule

# Module option -> op25b option; each given only when set.
VALUE_OPTIONS = [
    'domain', 'cert', 'key', 'relayhost', 'relay_user', 'relay_password_file', 'mechanisms', 'password_map',
    'zone', 'root', 'postfix_dir', 'dovecot_dir', 'state_dir', 'config', 'timeout',
]
APPLY_ONLY = ['domain', 'cert', 'key', 'relayhost', 'relay_user', 'relay_password', 'relay_password_file',
              'mechanisms', 'password_map']


def flag(name):
    return '--' + name.replace('_', '-')


def run_op25b(module, argv, stdin):
    rc, out, err = module.run_command(argv, data=stdin, binary_data=False, check_rc=False)
    lines = [line for line in out.splitlines() if line.strip()]
    report = None
    if lines:
        try:
            report = json.loads(lines[-1])
        except ValueError:
            report = None
    return rc, report, err


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            mode=dict(type='str', choices=['smtps', 'submission']),
            domain=dict(type='str'),
            cert=dict(type='path'),
            key=dict(type='path', no_log=False),
            relayhost=dict(type='str'),
            relay_user=dict(type='str'),
            relay_password=dict(type='str', no_log=True),
            relay_password_file=dict(type='path'),
            mechanisms=dict(type='str'),
            password_map=dict(type='path', no_log=False),
            zone=dict(type='str'),
            root=dict(type='path'),
            postfix_dir=dict(type='path'),
            dovecot_dir=dict(type='path'),
            state_dir=dict(type='path'),
            config=dict(type='path'),
            no_restart=dict(type='bool', default=False),
            no_firewall=dict(type='bool', default=False),
            timeout=dict(type='int'),
            binary=dict(type='path'),
        ),
        mutually_exclusive=[['domain', 'cert'], ['domain', 'key'], ['relay_password', 'relay_password_file']],
        required_together=[['cert', 'key']],
        required_if=[['state', 'present', ['mode']]],
        supports_check_mode=True,
    )
    p = module.params
    binary = p['binary'] or module.get_bin_path('op25b', required=True, opt_dirs=['/usr/sbin', '/usr/local/sbin'])

    if p['state'] == 'absent':
        given = [o for o in APPLY_ONLY if p[o] is not None]
        if given:
            module.fail_json(msg='state=absent reverts; these options belong to state=present: ' + ', '.join(given))
    argv = [binary, 'apply' if p['state'] == 'present' else 'revert', '--json']
    if p['mode']:
        argv.append('--mode=' + p['mode'])
    for name in VALUE_OPTIONS:
        if p[name] is not None:
            argv.append('%s=%s' % (flag(name), p[name]))
    for name in ('no_restart', 'no_firewall'):
        if p[name]:
            argv.append(flag(name))
    stdin = None
    if p['relay_password'] is not None:
        argv.append('--relay-password-stdin')
        stdin = p['relay_password']

    result = dict(changed=False)
    # Diff mode outside check mode: the diff of a dry run first, then the real run.
    if module._diff and not module.check_mode:
        rc, dry, err = run_op25b(module, argv + ['--dry-run'], stdin)
        if rc != 0 or dry is None:
            module.fail_json(msg=err.strip() or 'op25b --dry-run failed', rc=rc, op25b=dry)
        if dry.get('diff'):
            result['diff'] = dict(prepared=dry['diff'])
    if module.check_mode:
        argv.append('--dry-run')
    rc, report, err = run_op25b(module, argv, stdin)
    if report is None:
        module.fail_json(msg=err.strip() or 'op25b printed no JSON report', rc=rc)
    if rc != 0:
        module.fail_json(msg=err.strip() or 'op25b failed', rc=rc, op25b=report)
    if report.get('schema') != 1:
        module.fail_json(msg='op25b --json schema %r is not the one this module knows (1)' % report.get('schema'))
    result.update(
        changed=bool(report.get('changed')),
        files=report.get('files', []),
        units=report.get('units', []),
        router_ports=report.get('router_ports', []),
        op25b=report,
    )
    if module._diff and module.check_mode and report.get('diff'):
        result['diff'] = dict(prepared=report['diff'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
