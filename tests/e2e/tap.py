#!/usr/bin/env python3
"""A wire tap on loopback: accept on LISTEN_IP:PORT, forward each connection to DEST_IP:PORT, and
append every byte the client sends (the home server's side) to LOG. Exits after LIFETIME seconds.
usage: tap.py LISTEN_IP DEST_IP PORT LOG LIFETIME"""
import socket
import sys
import threading
import time

lip, dip, port, log, life = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
lock = threading.Lock()


def pump(src, dst, record):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if record:
                with lock, open(log, 'ab') as f:
                    f.write(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((lip, port))
srv.listen(8)
srv.settimeout(0.5)
end = time.time() + life
while time.time() < end:
    try:
        client, _ = srv.accept()
    except socket.timeout:
        continue
    try:
        upstream = socket.create_connection((dip, port), timeout=10)
    except OSError:
        client.close()
        continue
    client.settimeout(60)
    upstream.settimeout(60)
    threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()
