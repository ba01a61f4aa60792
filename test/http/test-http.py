#!/usr/bin/env python3
"""The evfut-http suite: real clients against a running evfut-http.

Usage: test-http.py PATH/TO/evfut-http

Each test starts the server on an ephemeral port (--port 0; the server
prints "listening on HOST:PORT") and talks to it with raw sockets, curl
(when installed) or http.client, ab and a one-second wrk run (skipped with a
message when not installed). Timeouts are generous; no test asserts a
duration. Prints TAP-like lines and a closing "N passed, N failed" line.
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402  (the hostile corpus, shared with compare-nginx)

BINARY = None
LIMIT = 30.0  # seconds: the generous bound on anything that should happen


class Server:
    """An evfut-http process on an ephemeral port."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [BINARY, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise AssertionError(f"no 'listening on' line: {line!r}")
        self.host, port = line.split()[-1].rsplit(":", 1)
        self.port = int(port)

    def connect(self):
        sock = socket.create_connection((self.host, self.port), timeout=LIMIT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=LIMIT)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def read_response(sock, buf=b""):
    """Reads one response; returns (status, headers, body, rest) or None
    when the connection closed first."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    assert version == "HTTP/1.1", lines[0]
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed inside a body"
        rest += chunk
    return int(status), headers, rest[:length], rest[length:]


def closed_by_server(sock):
    """Whether the server closes (end of file or reset) within LIMIT."""
    sock.settimeout(LIMIT)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def exchange(server, request):
    """Sends @request on a new connection; returns the first response (or
    None) and whether the server then closed."""
    with server.connect() as sock:
        try:
            sock.sendall(request)
        except (ConnectionResetError, BrokenPipeError):
            return None, True
        try:
            response = read_response(sock)
        except ConnectionResetError:
            return None, True
        return response, closed_by_server(sock)


def get(host="a", path="/", extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def wait_for(predicate, what):
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_serves(server):
    """The server is alive and answers a good request."""
    assert server.alive(), "the server died"
    response, _ = exchange(server, get(extra="Connection: close\r\n"))
    assert response is not None and response[0] == 200, response
    assert response[2] == b"Hello, World!"


# --- the tests -------------------------------------------------------------


def test_get_root(server):
    response, closed = exchange(server, get(extra="Connection: close\r\n"))
    status, headers, body, _ = response
    assert status == 200 and body == b"Hello, World!"
    assert headers["content-length"] == "13"
    assert headers["content-type"] == "text/plain"
    assert headers["connection"] == "close" and closed


def test_http_client(server):
    """Keep-alive with python's http.client: two requests, one socket."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=LIMIT)
    conn.request("GET", "/")
    first = conn.getresponse()
    assert first.status == 200 and first.read() == b"Hello, World!"
    sock = conn.sock
    conn.request("GET", "/missing")
    second = conn.getresponse()
    assert second.status == 404
    second.read()
    assert conn.sock is sock, "keep-alive connection was not kept"
    conn.request("HEAD", "/")
    third = conn.getresponse()
    assert third.status == 200 and third.read() == b""
    assert third.getheader("Content-Length") == "13"
    conn.close()


def test_curl(server):
    if shutil.which("curl") is None:
        return "skip: curl is not installed"
    url = f"http://{server.host}:{server.port}/"
    out = subprocess.run(
        ["curl", "-sS", "-w", " %{http_code} %{num_connects}",
         url, url, url + "nope"],
        capture_output=True, text=True, timeout=LIMIT, check=True).stdout
    assert out.startswith("Hello, World! 200 1"), out
    assert "Hello, World! 200 0" in out, f"curl did not reuse: {out}"
    assert out.endswith(" 404 0"), out
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
         "-X", "POST", "-d", "x=1", url],
        capture_output=True, text=True, timeout=LIMIT, check=True).stdout
    assert out == "405", out
    return None


def test_pipelining(server):
    """Three requests in one send: three answers, in order."""
    with server.connect() as sock:
        sock.sendall(get() + get(path="/nope") + get(path="/?q=1"))
        buf = b""
        statuses = []
        for _ in range(3):
            status, _, body, buf = read_response(sock, buf)
            statuses.append((status, body))
        assert statuses == [(200, b"Hello, World!"),
                            (404, b"Not Found\n"),
                            (200, b"Hello, World!")], statuses


def test_pipelining_many(server):
    """More answers than one write buffer holds, still in order."""
    n = 200
    paths = ["/" if i % 3 else "/x" for i in range(n)]
    with server.connect() as sock:
        sock.sendall(b"".join(get(path=p) for p in paths))
        buf = b""
        for i, p in enumerate(paths):
            status, _, _, buf = read_response(sock, buf)
            assert status == (200 if p == "/" else 404), (i, status)


def test_http10(server):
    response, closed = exchange(server, b"GET / HTTP/1.0\r\n\r\n")
    assert response[0] == 200 and closed
    with server.connect() as sock:
        request = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        sock.sendall(request)
        status, headers, _, rest = read_response(sock)
        assert status == 200 and headers["connection"] == "keep-alive"
        sock.sendall(request)
        assert read_response(sock, rest)[0] == 200


def test_head_limit(server):
    big = "X-Big: " + "a" * 7900 + "\r\n"
    response, _ = exchange(server, get(extra=big + "Connection: close\r\n"))
    assert response[0] == 200, "an 8000-byte head was refused"
    big = "X-Big: " + "a" * 9000 + "\r\n"
    response, closed = exchange(server, get(extra=big))
    assert response[0] == 431 and closed, response
    many = "".join(f"X-H{i}: {'b' * 50}\r\n" for i in range(400))
    response, closed = exchange(server, get(extra=many))
    assert response[0] == 431 and closed, response
    # Blank lines count in the head; a kept value has 256 bytes at most.
    response, closed = exchange(server, b"\r\n" * 4097 + get())
    assert response[0] == 431 and closed, response
    response, _ = exchange(server, get(host="a" * 256,
                                       extra="Connection: close\r\n"))
    assert response[0] == 200, "a 256-byte Host was refused"
    response, closed = exchange(server, get(host="a" * 257))
    assert response[0] == 431 and closed, response
    # A chunk size line and a trailer section have the head's limit too.
    chunked = (b"POST / HTTP/1.1\r\nHost: a\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
    response, closed = exchange(server, chunked + b"1;" + b"e" * 8200)
    assert response[0] == 400 and closed, response
    response, closed = exchange(server, chunked + b"0\r\n" +
                                b"X-T: t\r\n" * 1200 + b"\r\n")
    assert response[0] == 431 and closed, response


def test_bad_requests(server):
    before = server.fds()
    for name, request, want, _why in cases.BAD:
        response, closed = exchange(server, request)
        assert response is not None, f"{name}: no answer"
        assert response[0] == want, f"{name}: {response[0]} != {want}"
        assert response[1].get("connection") == "close", name
        assert closed, f"{name}: the connection stayed open"
    # Truncated requests: the client gives up half-way.
    for part in (b"GET / HT", b"GET / HTTP/1.1\r\nHost: a\r\n",
                 b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab"):
        with server.connect() as sock:
            sock.sendall(part)
            sock.shutdown(socket.SHUT_WR)
            assert closed_by_server(sock), part
    # A body is read and discarded; the connection goes on.
    with server.connect() as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                     b"\r\nhelloPOST / HTTP/1.1\r\nHost: a\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                     b"0\r\n\r\n" + get())
        buf = b""
        got = []
        for _ in range(3):
            status, _, _, buf = read_response(sock, buf)
            got.append(status)
        assert got == [404, 405, 200], got
    wait_for(lambda: server.fds() == before, "descriptors to be closed")
    assert_serves(server)


def test_good_requests(server):
    """What the grammar allows is served, and the connection goes on."""
    for name, request, want in cases.GOOD:
        with server.connect() as sock:
            sock.sendall(request + get())
            status, headers, _, rest = read_response(sock)
            assert status == want, f"{name}: {status} != {want}"
            assert "connection" not in headers, f"{name}: {headers}"
            assert read_response(sock, rest)[0] == 200, name


def test_refusal_is_immediate(server):
    """A refused request is answered at the first byte in error: nothing
    after it is waited for (the header timeout is longer than LIMIT)."""
    for part in (b"GET / HTTP/1.1\r\nHost: a\rX",
                 b"GET /\ta", b"GET / HTTP/2.0\r\n", b"FROB / HTTP/1.1\r\n",
                 b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                 b"\r\n\r\n5\r\nhelloXX"):
        with server.connect() as sock:
            sock.sendall(part)
            response = read_response(sock)
            assert response is not None and response[0] >= 400, part
            assert closed_by_server(sock), part


def test_http09(server):
    """HTTP/0.9 is answered at once, the body alone, then closed (the
    header timeout is longer than LIMIT: waiting for it would fail)."""
    for request, body in ((b"GET /\r\n", b"Hello, World!"),
                          (b"GET /x\r\n", b"Not Found\n"),
                          (b"POST /\r\n", b"Bad Request\n")):
        with server.connect() as sock:
            sock.sendall(request)
            got = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
            assert got == body, (request, got)


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def read_exactly(sock, n):
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        assert chunk, f"closed after {got!r}"
        got += chunk
    return got


def test_expect_continue(server):
    """Expect: 100-continue gets 100 Continue before the body is sent
    (RFC 9110 10.1.1), then the final answer; the connection goes on."""
    for framing, body in ((b"Content-Length: 5\r\n", b"hello"),
                          (b"Transfer-Encoding: chunked\r\n",
                           b"5\r\nhello\r\n0\r\n\r\n")):
        with server.connect() as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue"
                         b"\r\n" + framing + b"\r\n")
            assert read_exactly(sock, len(CONTINUE)) == CONTINUE
            sock.sendall(body + get())
            status, _, _, rest = read_response(sock)
            assert status == 405, status
            assert read_response(sock, rest)[0] == 200
    # No body to wait for, or HTTP/1.0: the final answer comes first.
    for request, want in (
            (b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
             b"Content-Length: 0\r\n\r\n", 405),
            (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
             200),
            (b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
             411)):
        with server.connect() as sock:
            sock.sendall(request)
            assert read_response(sock)[0] == want
    with server.connect() as sock:
        sock.sendall(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n"
                     b"Content-Length: 5\r\n\r\n")
        time.sleep(0.2)
        sock.sendall(b"hello")
        assert read_response(sock)[0] == 405


def test_blank_line_slowloris(server):
    """CR, LF, CR... one byte at a time, each well within the header
    timeout (1 s here; the idle timeout is longer than LIMIT): blank lines
    start the head deadline and never refresh it, so the server answers 408
    and closes."""
    before = server.fds()
    with server.connect() as sock:
        answer = b""
        deadline = time.monotonic() + LIMIT
        while not answer and time.monotonic() < deadline:
            for byte in b"\r\n":
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    break
                time.sleep(0.2)
            sock.setblocking(False)
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            finally:
                sock.setblocking(True)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:40]
        assert closed_by_server(sock)
    wait_for(lambda: server.fds() == before, "descriptors to be closed")
    assert_serves(server)


def test_slowloris(server):
    """A head sent a byte at a time, each byte well within the header
    timeout (1 s here): the deadline counts from the first byte, so the
    server answers 408 and closes long before the head is complete."""
    before = server.fds()
    request = get(extra="X-Slow: " + "s" * 200 + "\r\n")
    with server.connect() as sock:
        answer = b""
        for byte in request[:-2]:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.05)
            sock.setblocking(False)
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if answer:
                break
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:40]
        assert closed_by_server(sock)
    wait_for(lambda: server.fds() == before, "descriptors to be closed")
    assert_serves(server)


def test_idle_timeout(server):
    before = server.fds()
    with server.connect() as sock:
        sock.sendall(get())
        assert read_response(sock)[0] == 200
        assert closed_by_server(sock), "idle connection was not closed"
    with server.connect() as sock:  # connected, never sends a byte
        assert closed_by_server(sock), "silent connection was not closed"
    wait_for(lambda: server.fds() == before, "descriptors to be closed")


def test_connection_cap(server):
    """--max-connections 2: a third connection is refused cleanly (503 or
    closed), and once one closes, a new one is served."""
    first, second = server.connect(), server.connect()
    for sock in (first, second):
        sock.sendall(get())
        assert read_response(sock)[0] == 200
    third = server.connect()
    try:
        third.sendall(get())
        response = read_response(third)
    except (ConnectionResetError, BrokenPipeError):
        response = None
    assert response is None or response[0] == 503, response
    third.close()
    first.close()

    def served():
        try:
            response, _ = exchange(server, get(extra="Connection: close\r\n"))
        except (ConnectionResetError, BrokenPipeError):
            return False
        return response is not None and response[0] == 200

    wait_for(served, "a connection under the cap")
    second.close()


def test_sigterm_in_flight(server):
    """SIGTERM with a request half sent: the request completes, its answer
    says Connection: close, an idle connection is closed, exit status 0."""
    idle = server.connect()
    idle.sendall(get())
    assert read_response(idle)[0] == 200
    busy = server.connect()
    busy.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
    time.sleep(0.2)
    server.proc.send_signal(signal.SIGTERM)
    assert closed_by_server(idle), "idle connection not closed at shutdown"
    busy.sendall(b"\r\n")
    status, headers, body, _ = read_response(busy)
    assert status == 200 and body == b"Hello, World!"
    assert headers["connection"] == "close"
    assert closed_by_server(busy)
    idle.close()
    busy.close()
    assert server.proc.wait(timeout=LIMIT) == 0
    try:
        socket.create_connection((server.host, server.port), timeout=5).close()
        raise AssertionError("still accepting after shutdown")
    except ConnectionRefusedError:
        pass


def test_grace_deadline(server):
    """A request that never completes is cut at the grace deadline (1 s)
    and the server still exits 0."""
    stuck = server.connect()
    stuck.sendall(b"GET / HTTP/1.1\r\n")
    time.sleep(0.2)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=LIMIT) == 0
    stuck.close()


def test_threads(server):
    """--threads 2: both runtimes serve, and SIGTERM stops both."""
    for _ in range(20):
        assert exchange(server, get(extra="Connection: close\r\n"))[0][0] == 200
    assert server.stop() == 0


def test_ab(server):
    if shutil.which("ab") is None:
        return "skip: ab (apache2-utils) is not installed"
    url = f"http://{server.host}:{server.port}/"
    for extra in ([], ["-k"]):
        out = subprocess.run(["ab", *extra, "-n", "2000", "-c", "20", url],
                             capture_output=True, text=True, timeout=LIMIT,
                             check=True).stdout
        assert "Complete requests:      2000" in out, out
        assert "Failed requests:        0" in out, out
        assert "Non-2xx" not in out, out
    return None


def test_wrk(server):
    if shutil.which("wrk") is None:
        return "skip: wrk is not installed"
    url = f"http://{server.host}:{server.port}/"
    out = subprocess.run(["wrk", "-t1", "-c50", "-d1s", url],
                         capture_output=True, text=True, timeout=LIMIT,
                         check=True).stdout
    assert "requests in" in out, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    return None


TESTS = [
    (test_get_root, []),
    (test_http_client, []),
    (test_curl, []),
    (test_pipelining, []),
    (test_pipelining_many, []),
    (test_http10, []),
    (test_head_limit, []),
    (test_bad_requests, []),
    (test_good_requests, []),
    (test_refusal_is_immediate, ["--header-timeout", "60"]),
    (test_http09, ["--header-timeout", "60"]),
    (test_expect_continue, []),
    (test_blank_line_slowloris, ["--header-timeout", "1",
                                 "--idle-timeout", "60"]),
    (test_slowloris, ["--header-timeout", "1"]),
    (test_idle_timeout, ["--idle-timeout", "0.5"]),
    (test_connection_cap, ["--max-connections", "2"]),
    (test_sigterm_in_flight, []),
    (test_grace_deadline, ["--grace", "1"]),
    (test_threads, ["--threads", "2"]),
    (test_ab, []),
    (test_wrk, []),
]

# Tests after which the server has already stopped on its own.
STOPS = {test_sigterm_in_flight, test_grace_deadline, test_threads}


def main():
    global BINARY
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    BINARY = os.path.abspath(sys.argv[1])
    passed = failed = skipped = 0
    print(f"1..{len(TESTS)}")
    for number, (test, args) in enumerate(TESTS, 1):
        name = test.__name__
        server = None
        try:
            server = Server(*args)
            before = server.fds()
            note = test(server)
            if test not in STOPS:
                assert server.alive(), "the server died"
                wait_for(lambda: server.fds() <= before, "no fd leak")
                status = server.stop()
                assert status == 0, f"exit status {status}"
            if note:
                skipped += 1
                print(f"ok {number} - {name} # SKIP {note[6:]}")
            else:
                passed += 1
                print(f"ok {number} - {name}")
        except Exception:  # noqa: BLE001 - report and go on
            failed += 1
            print(f"not ok {number} - {name}")
            for line in traceback.format_exc().splitlines():
                print(f"# {line}")
            if server is not None:
                if server.proc.poll() is None:
                    server.proc.kill()
                    server.proc.wait()
                print(f"# server exit: {server.proc.returncode}")
                for line in server.proc.stderr.read().splitlines():
                    print(f"# server: {line}")
                server.proc.stdout.close()
                server.proc.stderr.close()
        sys.stdout.flush()
    print(f"# {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
