#!/usr/bin/env python3
"""Faults on the wire against evfut-echo and evfut-http.

Usage: wire-faults.py PATH/TO/evfut-echo PATH/TO/evfut-http

Peers that reset (SO_LINGER 0) mid-exchange, half-close and still read,
stall half-way through a message, and send one byte at a time. After each
fault the server must still be running, serve a good client, and hold no
more descriptors than before. Prints TAP.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

LIMIT = 20.0


class Server:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--port", "0"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), line
        host, port = line.split()[-1].rsplit(":", 1)
        self.addr = (host, int(port))

    def connect(self):
        sock = socket.create_connection(self.addr, timeout=LIMIT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=LIMIT)


def reset(sock):
    """Closes with RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def echo_ok(server):
    with server.connect() as s:
        s.sendall(b"ping")
        return read_exactly(s, 4) == b"ping"


REQUEST = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def http_ok(server):
    with server.connect() as s:
        s.sendall(REQUEST)
        head = s.recv(4096)
        return head.startswith(b"HTTP/1.1 200")


def settle(server, fds):
    """Waits until the server's descriptors are back to @fds."""
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if server.fds() <= fds:
            return True
        time.sleep(0.02)
    return False


def echo_faults(server):
    # A reset in the middle of a large echo: the server is writing.
    s = server.connect()
    s.sendall(b"x" * (1 << 20))
    reset(s)
    yield "echo: reset while the server writes"
    # Half-close: the echo of what was sent still arrives.
    with server.connect() as s:
        s.sendall(b"half")
        s.shutdown(socket.SHUT_WR)
        assert read_exactly(s, 4) == b"half"
        assert s.recv(1) == b""
    yield "echo: half-close gets the echo, then end of file"
    # A stalled peer that never reads: the server must not block others.
    stalled = server.connect()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"y" * (1 << 16))
    assert echo_ok(server)
    reset(stalled)
    yield "echo: a peer that stops reading does not block the others"
    # One byte at a time.
    with server.connect() as s:
        for b in b"slow":
            s.sendall(bytes([b]))
            time.sleep(0.005)
        assert read_exactly(s, 4) == b"slow"
    yield "echo: one byte at a time"


def http_faults(server):
    s = server.connect()
    s.sendall(REQUEST * 50)
    reset(s)
    yield "http: reset with pipelined requests in flight"
    with server.connect() as s:
        s.sendall(REQUEST)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
    yield "http: half-close after a request still gets the response"
    stalled = server.connect()
    stalled.sendall(b"GET / HTTP/1.1\r\nHo")
    assert http_ok(server)
    reset(stalled)
    yield "http: a stalled request does not block the others"
    with server.connect() as s:
        for b in REQUEST:
            s.sendall(bytes([b]))
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
    yield "http: one byte at a time within the header deadline"


def run(binary, faults, healthy, start):
    results = []
    server = Server(binary)
    try:
        fds = server.fds()
        for name in faults(server):
            ok = (server.proc.poll() is None and healthy(server)
                  and settle(server, fds))
            results.append((ok, name))
        status = server.stop()
        results.append((status == 0, "exit 0 on SIGTERM"))
    except Exception as err:  # a failed assertion or a dead server
        results.append((False, f"{err!r}"))
        server.proc.kill()
    for i, (ok, name) in enumerate(results, start):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    return results


def main():
    results = run(sys.argv[1], echo_faults, echo_ok, 1)
    results += run(sys.argv[2], http_faults, http_ok, len(results) + 1)
    print(f"1..{len(results)}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
