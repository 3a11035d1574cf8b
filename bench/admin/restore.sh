#!/bin/sh
# Undo by hand: put back the copies kept before the edit, drop the map, its table, the drop-in.
# Usage: restore.sh ROOT BACKUP-ROOT
set -eu
root=$1 bak=$2
for f in etc/postfix/main.cf etc/postfix/master.cf etc/dovecot/conf.d/10-ssl.conf; do
	cp -p "$bak/$f" "$root/$f"
done
rm -f "$root/etc/postfix/ispinfo" "$root/etc/postfix/ispinfo.db" "$root/etc/dovecot/conf.d/99-op25b-auth.conf"
