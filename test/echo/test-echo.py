#!/usr/bin/env python3
"""evfut-echo against raw sockets.

Usage: test-echo.py PATH/TO/evfut-echo

Each test starts its own server (TCP on an ephemeral port, or a Unix
socket in a fresh directory), talks to it, then checks that the server's
descriptors are back to what they were once it listened, and that SIGTERM
exits 0. No test asserts an upper bound on a duration: "closed" is awaited
with a generous bound, and "not before the timeout" is asserted.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BINARY = None
LIMIT = 30.0  # seconds: the generous bound on anything that should happen


class Server:
    """An evfut-echo process; args pick TCP (default) or --unix."""

    def __init__(self, *args):
        self.path = None
        if "--unix" in args:
            self.path = args[args.index("--unix") + 1]
        else:
            args = ("--port", "0", *args)
        self.proc = subprocess.Popen(
            [BINARY, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise AssertionError(f"no 'listening on' line: {line!r}")
        if self.path is None:
            self.port = int(line.split()[-1].rsplit(":", 1)[1])

    def connect(self):
        if self.path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(LIMIT)
            sock.connect(self.path)
        else:
            sock = socket.create_connection(("127.0.0.1", self.port),
                                            timeout=LIMIT)
        return sock

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self):
        """SIGTERM; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout=LIMIT)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return status


def echo(sock, data=b"hello\n"):
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        assert chunk, f"closed after {got!r}"
        got += chunk
    assert got == data, f"echoed {got!r}"


def closed_by_server(sock):
    """Whether the server closed: EOF or a reset, within LIMIT."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def wait_for(predicate, what):
    deadline = time.monotonic() + LIMIT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.01)


def test_idle_closed(server):
    """A connection that sends nothing is closed, never before the timeout;
    one that was echoed then goes quiet too."""
    start = time.monotonic()  # before the server can accept and arm
    quiet = server.connect()
    talker = server.connect()
    last = time.monotonic()  # before the server reads what follows
    echo(talker)
    assert closed_by_server(quiet), "data on an idle connection"
    assert time.monotonic() - start >= 0.3, "closed before the timeout"
    assert closed_by_server(talker), "data on an idle connection"
    assert time.monotonic() - last >= 0.3, "closed before the timeout"
    quiet.close()
    talker.close()


def test_reader_that_never_reads_is_closed(server):
    """A client that sends without reading its echo fills the buffers both
    ways; the server's write, waiting for room, fails at the idle timeout
    and the connection is closed, never before the timeout."""
    base = server.fds()
    sock = server.connect()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    echo(sock)  # accepted: the connection counts in the server's fds
    sock.setblocking(False)
    start = time.monotonic()  # before the server's last read
    try:
        while True:
            sock.send(b"x" * 65536)
    except BlockingIOError:
        pass  # full both ways: the server's write waits for room
    wait_for(lambda: server.fds() <= base, "the connection closed")
    assert time.monotonic() - start >= 0.3, "closed before the timeout"
    sock.close()


def test_idle_counts_from_last_read(server):
    """Bytes every 50 ms keep a connection open past its timeout (2 s)."""
    sock = server.connect()
    start = previous = time.monotonic()
    longest = 0.0
    while time.monotonic() - start < 3.0:
        echo(sock, b"x")
        now = time.monotonic()
        longest = max(longest, now - previous)
        previous = now
        time.sleep(0.05)
    if longest >= 1.0:  # the load stretched a gap too far to conclude
        sock.close()
        return f"# SKIP a {longest:.2f} s gap between messages"
    echo(sock)  # still open, well past the 2 s timeout
    sock.close()
    return None


def test_cap(server):
    """Past 2 connections a new one is closed at once; a slot frees when a
    client leaves."""
    a, b = server.connect(), server.connect()
    echo(a)
    echo(b)
    extra = server.connect()
    assert closed_by_server(extra), "a third connection was served"
    extra.close()
    a.close()

    def served():
        c = server.connect()
        try:
            c.sendall(b"again\n")
            if c.recv(16) == b"again\n":
                c.close()
                return True
        except ConnectionResetError:
            pass
        c.close()
        return False

    wait_for(served, "a slot freed by a client that left")
    echo(b)
    b.close()


def test_unix_echo(server):
    """Echo over the Unix socket, several clients at once."""
    socks = [server.connect() for _ in range(5)]
    for i, sock in enumerate(socks):
        echo(sock, b"unix %d\n" % i)
    echo(socks[0], b"y" * 200000)
    for sock in socks:
        sock.close()


def test_reset_and_leave(server):
    """Clients that reset, half-close or vanish leave no descriptor."""
    for i in range(20):
        sock = server.connect()
        echo(sock)
        if i % 3 == 0:  # a reset: SO_LINGER 0
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            b"\x01\x00\x00\x00\x00\x00\x00\x00")
        elif i % 3 == 1:
            sock.shutdown(socket.SHUT_WR)
            assert closed_by_server(sock), "no end of file after SHUT_WR"
        sock.close()


def in_tmpdir(test):
    """Runs test(dir) in a fresh directory."""
    def run():
        with tempfile.TemporaryDirectory() as d:
            return test(d)
    run.__name__ = test.__name__
    return run


@in_tmpdir
def test_stale_path_removed(d):
    """A socket file nobody listens on is removed; SIGTERM exits 0 and
    removes the file."""
    path = os.path.join(d, "echo.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays
    assert os.path.exists(path)
    server = Server("--unix", path)
    before = server.fds()
    sock = server.connect()
    echo(sock)
    sock.close()
    wait_for(lambda: server.fds() <= before, "no fd leak")
    assert server.stop() == 0
    assert not os.path.exists(path), "the socket file is left"


@in_tmpdir
def test_path_in_use_or_not_socket(d):
    """A live socket or a regular file at PATH is left alone: exit 1."""
    path = os.path.join(d, "live.sock")
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(path)
    live.listen(1)
    run = subprocess.run([BINARY, "--unix", path], capture_output=True,
                         text=True, timeout=LIMIT)
    assert run.returncode == 1, f"exit {run.returncode}: {run.stderr!r}"
    assert os.path.exists(path), "a live server's socket was removed"
    live.close()
    plain = os.path.join(d, "plain")
    with open(plain, "w") as f:
        f.write("keep")
    run = subprocess.run([BINARY, "--unix", plain], capture_output=True,
                         text=True, timeout=LIMIT)
    assert run.returncode == 1, f"exit {run.returncode}: {run.stderr!r}"
    with open(plain) as f:
        assert f.read() == "keep", "a regular file was touched"


BAD_ARGS = [
    ["--port", "x"], ["--port", "65536"], ["--port", "-1"], ["--port"],
    ["--idle-timeout", "0s"], ["--idle-timeout", "5"],
    ["--idle-timeout", "-1s"], ["--idle-timeout", "1y"],
    ["--idle-timeout", "99999999999999999999s"],
    ["--max-connections", "0"], ["--max-connections", "abc"],
    ["--max-connections", "99999999999999999999"],
    ["--unix", ""], ["--unix", "/tmp/" + "x" * 200],
    ["--unix", "/tmp/a.sock", "--port", "1"], ["--bogus", "1"], ["extra"],
]


def test_bad_arguments():
    """Each bad argument: exit 2 with a usage message, no crash."""
    for args in BAD_ARGS:
        run = subprocess.run([BINARY, *args], capture_output=True,
                             text=True, timeout=LIMIT)
        assert run.returncode == 2, f"{args}: exit {run.returncode}"
        assert "usage: evfut-echo" in run.stderr, f"{args}: {run.stderr!r}"
    run = subprocess.run([BINARY, "--help"], capture_output=True,
                         text=True, timeout=LIMIT)
    assert run.returncode == 0 and "usage" in run.stdout


# (test, server arguments or None for a test that runs its own processes)
TESTS = [
    (test_idle_closed, ["--idle-timeout", "300ms"]),
    (test_reader_that_never_reads_is_closed, ["--idle-timeout", "300ms"]),
    (test_idle_counts_from_last_read, ["--idle-timeout", "2s"]),
    (test_cap, ["--max-connections", "2"]),
    (test_reset_and_leave, ["--max-connections", "5"]),
    (test_unix_echo, ["--unix"]),
    (test_stale_path_removed, None),
    (test_path_in_use_or_not_socket, None),
    (test_bad_arguments, None),
]


def run_with_server(test, args, tmp):
    """Runs test against a fresh server; checks fds, SIGTERM and the file."""
    if args == ["--unix"]:
        args = ["--unix", os.path.join(tmp, "echo.sock")]
    server = Server(*args)
    try:
        before = server.fds()
        note = test(server)
        assert server.proc.poll() is None, "the server died"
        wait_for(lambda: server.fds() <= before, "fds back to baseline")
        status = server.stop()
        assert status == 0, f"exit status {status}"
        if server.path is not None:
            assert not os.path.exists(server.path), "socket file left"
        return note
    except BaseException:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
        print(f"# server exit: {server.proc.returncode}")
        for line in server.proc.stderr.read().splitlines():
            print(f"# server: {line}")
        raise


def main():
    global BINARY
    BINARY = sys.argv[1]
    failed = 0
    print(f"1..{len(TESTS)}")
    for number, (test, args) in enumerate(TESTS, 1):
        name = test.__name__
        try:
            with tempfile.TemporaryDirectory() as tmp:
                note = (test() if args is None
                        else run_with_server(test, args, tmp))
            print(f"ok {number} - {name}" +
                  (f" {note}" if note else ""))
        except Exception:  # noqa: BLE001 - report and go on
            failed += 1
            print(f"not ok {number} - {name}")
            for line in traceback.format_exc().splitlines():
                print(f"# {line}")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
