#!/bin/bash
# A throwaway CA and one server certificate per host, signed by it, in the shape of Let's Encrypt's
# files: DIR/NAME/fullchain.pem (leaf, then the CA) and DIR/NAME/privkey.pem.
# Usage: pki.sh DIR NAME:CN:IP...
set -euo pipefail
dir=$1; shift
CNF=$(cd "$(dirname "$0")/../lib" && pwd)/ca.cnf
mkdir -p "$dir"; cd "$dir"; umask 077
openssl req -x509 -config "$CNF" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 30 \
	-subj "/CN=op25b e2e CA" -keyout ca.key -out ca.pem 2>/dev/null
for spec; do
	IFS=: read -r name cn ip <<<"$spec"
	mkdir -p "$name"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -subj "/CN=$cn" \
		-keyout "$name/privkey.pem" -out "$name/req.csr" 2>/dev/null
	printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$cn" "$ip" >"$name/ext.cnf"
	openssl x509 -req -in "$name/req.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
		-extfile "$name/ext.cnf" -out "$name/cert.pem" 2>/dev/null
	cat "$name/cert.pem" ca.pem >"$name/fullchain.pem"
	chmod 644 "$name/cert.pem" "$name/fullchain.pem"
	chmod 600 "$name/privkey.pem"
	chmod 755 "$name"
done
chmod 644 ca.pem; chmod 755 .
