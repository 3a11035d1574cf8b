#!/usr/bin/env python3
"""The machine in the middle: an SMTP submission server on IP:PORT that offers STARTTLS with the
certificate it is given (self-signed, for another name), then AUTH PLAIN LOGIN, and accepts every
credential and message. Every line a client sends, inside TLS included, is appended to LOG: what an
attacker would have learnt. Serves connections one after the other; exits after LIFETIME seconds.
usage: fake-relay.py IP PORT CERT KEY LOG LIFETIME"""
import socket
import ssl
import sys
import time

ip, port, cert, key, log, life = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6])
end = time.time() + life
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def record(data):
    with open(log, 'ab') as f:
        f.write(data)


class Conn:
    def __init__(self, sock):
        self.sock, self.buf = sock, b''

    def send(self, text):
        self.sock.sendall(text.encode() + b'\r\n')

    def line(self):
        while b'\n' not in self.buf:
            self.sock.settimeout(max(0.1, min(30, end - time.time())))
            data = self.sock.recv(4096)
            if not data:
                raise EOFError
            record(data)
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return line.rstrip(b'\r').decode('ascii', 'replace')


def serve(c):
    c.send('220 smtp.isp.example.test ESMTP')
    tls = False
    while True:
        cmd = c.line()
        verb = cmd.split(' ', 1)[0].upper()
        if verb in ('EHLO', 'HELO'):
            ext = ['AUTH PLAIN LOGIN'] if tls else ['STARTTLS']
            lines = ['smtp.isp.example.test'] + ext
            for i, text in enumerate(lines):
                c.sock.sendall(('250%s%s\r\n' % (' ' if i == len(lines) - 1 else '-', text)).encode())
        elif verb == 'STARTTLS' and not tls:
            c.send('220 2.0.0 Ready to start TLS')
            c.sock = ctx.wrap_socket(c.sock, server_side=True)
            c.buf, tls = b'', True
        elif verb == 'AUTH':
            if cmd.upper() == 'AUTH LOGIN':
                c.send('334 VXNlcm5hbWU6')
                c.line()
                c.send('334 UGFzc3dvcmQ6')
                c.line()
            elif cmd.upper() == 'AUTH PLAIN':
                c.send('334 ')
                c.line()
            c.send('235 2.7.0 Authentication successful')
        elif verb == 'DATA':
            c.send('354 End data with <CR><LF>.<CR><LF>')
            while c.line() != '.':
                pass
            c.send('250 2.0.0 Ok: queued as FAKE1')
        elif verb == 'QUIT':
            c.send('221 2.0.0 Bye')
            return
        else:
            c.send('250 2.0.0 Ok')


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((ip, port))
srv.listen(8)
srv.settimeout(0.5)
while time.time() < end:
    try:
        sock, _ = srv.accept()
    except socket.timeout:
        continue
    try:
        serve(Conn(sock))
    except (OSError, EOFError, ssl.SSLError, ValueError):
        pass
    finally:
        sock.close()
