#!/usr/bin/env python3
"""A scripted, deliberately misbehaving SMTP server for tests/t-probe.sh (python3 stdlib only).

    fake-smtp.py SCENARIO [--addr 127.0.0.1] [--port 0] [--cert FILE --key FILE]
                          [--conns 1] [--lifetime 20]

Listens on ADDR:PORT (ADDR must be in 127.0.0.0/8; port 0 = any free port), prints the port on
stdout, serves at most CONNS connections one after the other, and exits by itself after LIFETIME
seconds at the latest, whatever the client does. Every socket operation is bounded by that
deadline, so a test that forgets the server cannot leave it running.

Scenarios (see SCENARIOS below): normal, auth-before-tls, old-auth, multi-auth, implicit-tls,
starttls-refused, no-starttls, ehlo-refused, not-smtp, close-early, close-after-banner, garbage,
garbage-partial, endless, long-line, stall, stall-ehlo, injection, tls-garbage, refuse-554.
"""
import argparse
import ipaddress
import os
import socket
import ssl
import sys
import time

BASE_EXT = ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME"]


class Closed(Exception):
    """The client went away, or the deadline passed: end this connection quietly."""


class Conn:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.buf = b""

    def _timeout(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Closed("deadline")
        self.sock.settimeout(left)

    def send(self, data):
        self._timeout()
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            raise Closed(str(e))

    def reply(self, code, lines):
        """A multi-line reply: CODE-line ... CODE line."""
        out = b""
        for i, text in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            out += f"{code}{sep}{text}\r\n".encode()
        self.send(out)

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 4096:
                raise Closed("client line too long")
            self._timeout()
            try:
                data = self.sock.recv(4096)
            except (OSError, ssl.SSLError) as e:
                raise Closed(str(e))
            if not data:
                raise Closed("client closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("ascii", "replace")

    def wait_close(self):
        """Say nothing until the client gives up (or the deadline)."""
        while True:
            self._timeout()
            try:
                if not self.sock.recv(4096):
                    return
            except (OSError, ssl.SSLError):
                return

    def starttls(self, ctx):
        self.reply(220, ["2.0.0 Ready to start TLS"])
        self.buf = b""
        self._timeout()
        try:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            raise Closed(str(e))


def ehlo_lines(name, ext):
    return [f"fake.example.test greets {name}"] + ext


def dialogue(c, ctx, before, after, starttls_reply=None):
    """A well-behaved server: EHLO answers BEFORE (a list of extension lines) in clear and AFTER
    inside TLS; STARTTLS is offered when "STARTTLS" is in BEFORE."""
    tls = False
    while True:
        line = c.readline()
        verb = line.split(" ", 1)[0].upper()
        if verb == "EHLO":
            name = line.split(" ", 1)[1] if " " in line else ""
            c.reply(250, ehlo_lines(name, after if tls else before))
        elif verb == "STARTTLS" and not tls:
            if starttls_reply:
                c.reply(starttls_reply[0], [starttls_reply[1]])
                continue
            c.starttls(ctx)
            tls = True
        elif verb == "QUIT":
            c.reply(221, ["2.0.0 Bye"])
            return
        else:
            c.reply(502, ["5.5.2 Error: command not recognized"])


def banner(c):
    c.reply(220, ["fake.example.test ESMTP fake-smtp"])


# Each scenario: function(conn, tls_context).
def s_normal(c, ctx):
    banner(c)
    dialogue(c, ctx, BASE_EXT + ["STARTTLS"], BASE_EXT + ["AUTH PLAIN LOGIN"])


def s_auth_before_tls(c, ctx):
    banner(c)
    dialogue(c, ctx, BASE_EXT + ["STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5"],
             BASE_EXT + ["AUTH PLAIN LOGIN CRAM-MD5"])


def s_old_auth(c, ctx):
    banner(c)
    dialogue(c, ctx, BASE_EXT + ["STARTTLS"], BASE_EXT + ["AUTH=LOGIN PLAIN"])


def s_multi_auth(c, ctx):
    banner(c)
    dialogue(c, ctx, BASE_EXT + ["STARTTLS"],
             BASE_EXT + ["AUTH PLAIN", "auth login cram-md5 ", "AUTH=LOGIN", "AUTH   plain   XOAUTH2"])


def s_implicit_tls(c, ctx):
    c.sock.settimeout(max(0.1, c.deadline - time.monotonic()))
    try:
        c.sock = ctx.wrap_socket(c.sock, server_side=True)
    except (OSError, ssl.SSLError) as e:
        raise Closed(str(e))
    banner(c)
    dialogue(c, ctx, BASE_EXT + ["AUTH PLAIN LOGIN"], BASE_EXT + ["AUTH PLAIN LOGIN"])


def s_starttls_refused(c, ctx):
    banner(c)
    dialogue(c, ctx, BASE_EXT + ["STARTTLS"], [], starttls_reply=(454, "4.7.0 TLS not available due to local problem"))


def s_no_starttls(c, ctx):
    banner(c)
    dialogue(c, ctx, BASE_EXT + ["AUTH PLAIN LOGIN"], [])


def s_ehlo_refused(c, ctx):
    banner(c)
    c.readline()
    c.reply(502, ["5.5.2 Error: command not recognized"])
    c.wait_close()


def s_not_smtp(c, ctx):
    c.send(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
    c.wait_close()


def s_close_early(c, ctx):
    pass  # accept, close


def s_close_after_banner(c, ctx):
    banner(c)
    c.readline()  # EHLO, then hang up without a word


def s_garbage(c, ctx):
    c.send(bytes(range(256)) + b"\r\n" + os.urandom(64))
    c.wait_close()


def s_garbage_partial(c, ctx):
    # starts like a reply, then binary: refused on the control byte, before any newline
    c.send(b"220 fake.example.test \x00\x01\x02\x1b[2J")
    c.wait_close()


def s_endless(c, ctx):
    banner(c)
    c.readline()
    n = 0
    while True:  # until the client stops reading and leaves, or the deadline
        c.send(f"250-X-SPAM-{n} lorem ipsum dolor sit amet\r\n".encode())
        n += 1


def s_long_line(c, ctx):
    banner(c)
    c.readline()
    c.send(b"250-fake.example.test\r\n250-X-LONG " + b"A" * 6000 + b"\r\n250 OK\r\n")
    c.wait_close()


def s_stall(c, ctx):
    c.wait_close()  # accept, say nothing


def s_stall_ehlo(c, ctx):
    banner(c)
    c.readline()
    c.wait_close()  # never answer EHLO


def s_injection(c, ctx):
    banner(c)
    c.readline()
    c.reply(250, ehlo_lines("x", BASE_EXT + ["STARTTLS"]))
    c.readline()
    # the 220 and a forged reply in the same plaintext segment
    c.send(b"220 2.0.0 Ready to start TLS\r\n250-fake\r\n250 AUTH PLAIN\r\n")
    c.wait_close()


def s_tls_garbage(c, ctx):
    banner(c)
    c.readline()
    c.reply(250, ehlo_lines("x", BASE_EXT + ["STARTTLS"]))
    c.readline()
    c.reply(220, ["2.0.0 Ready to start TLS"])
    c.send(b"this is not a TLS record at all\r\n" * 4)
    c.wait_close()


def s_refuse_554(c, ctx):
    c.reply(554, ["5.7.1 fake.example.test: no SMTP service here"])
    c.wait_close()


SCENARIOS = {
    "normal": s_normal,
    "auth-before-tls": s_auth_before_tls,
    "old-auth": s_old_auth,
    "multi-auth": s_multi_auth,
    "implicit-tls": s_implicit_tls,
    "starttls-refused": s_starttls_refused,
    "no-starttls": s_no_starttls,
    "ehlo-refused": s_ehlo_refused,
    "not-smtp": s_not_smtp,
    "close-early": s_close_early,
    "close-after-banner": s_close_after_banner,
    "garbage": s_garbage,
    "garbage-partial": s_garbage_partial,
    "endless": s_endless,
    "long-line": s_long_line,
    "stall": s_stall,
    "stall-ehlo": s_stall_ehlo,
    "injection": s_injection,
    "tls-garbage": s_tls_garbage,
    "refuse-554": s_refuse_554,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--lifetime", type=float, default=20.0)
    a = ap.parse_args()
    if not ipaddress.ip_address(a.addr) in ipaddress.ip_network("127.0.0.0/8"):
        ap.error("--addr must be in 127.0.0.0/8")
    a.lifetime = min(a.lifetime, 60.0)  # a hard upper bound, whatever the caller asks

    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        # The test checks that the client sends SNI for names and not for addresses.
        ctx.sni_callback = lambda _sock, name, _ctx: print(f"sni={name}", file=sys.stderr, flush=True)

    end = time.monotonic() + a.lifetime
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.addr, a.port))
    srv.listen(8)
    print(srv.getsockname()[1], flush=True)

    for _ in range(a.conns):
        left = end - time.monotonic()
        if left <= 0:
            break
        srv.settimeout(left)
        try:
            sock, _peer = srv.accept()
        except (socket.timeout, OSError):
            break
        c = Conn(sock, end)
        try:
            SCENARIOS[a.scenario](c, ctx)
        except Closed:
            pass
        finally:
            try:
                c.sock.close()
            except OSError:
                pass
    srv.close()


if __name__ == "__main__":
    sys.exit(main())
