#!/usr/bin/env python3
"""Sends each case of cases.py to servers and prints their answers.

Usage: compare-nginx.py HOST:PORT [HOST:PORT...]

For each case, prints a Markdown row: the case, then for each server the
status of its first answer ("-" when it closed without one, "timeout" when
it said nothing within 3 s) followed by "c" when it then closed. This is how
the table of docs/server.md is made (evfut-http, then nginx).
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402


def answer(addr, request):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        try:
            sock.sendall(request)
        except OSError:
            return "-"
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            if not data:
                return "timeout"
            closed = ""
        except ConnectionResetError:
            pass
        else:
            closed = " c"
        if not data.startswith(b"HTTP/"):
            return ("raw" if data else "-") + closed
        return data.split(b" ", 2)[1].decode() + closed


def main():
    servers = sys.argv[1:]
    for name, request, _want, _why in cases.BAD:
        print(f"| {name} | " + " | ".join(answer(s, request) for s in servers)
              + " |")


if __name__ == "__main__":
    main()
