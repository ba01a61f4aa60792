#!/usr/bin/env python3
"""The evfut-timer CLI suite: runs the program and checks what it prints.

Usage: test_cli.py EVFUT_TIMER GROUP [MAN_PAGE] [TRACE_TO_PNG]

GROUP is one of: classic, thread, many, errors, interval, trace, png, man.
Output is TAP. No test asserts an elapsed time: the classic and interval
checks run on the virtual clock, and the real-clock runs assert order and
"never before the deadline" only.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

EXE = sys.argv[1]
GROUP = sys.argv[2]
MAN = sys.argv[3] if len(sys.argv) > 3 else None
TO_PNG = sys.argv[4] if len(sys.argv) > 4 else None

results = []
TMP = pathlib.Path(tempfile.mkdtemp(prefix="evfut-cli-"))


def run(*args, timeout=120):
    """Runs evfut-timer with args; returns (status, stdout, stderr)."""
    proc = subprocess.run(
        [EXE, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test(name):
    """Registers a check; a check raises AssertionError to fail."""

    def register(fn):
        results.append((name, fn))
        return fn

    return register


def expect_in_order(text, patterns):
    """Each regex matches a line after the previous one's line."""
    lines = text.splitlines()
    at = 0
    for pattern in patterns:
        regex = re.compile(pattern)
        while at < len(lines) and not regex.search(lines[at]):
            at += 1
        assert at < len(lines), f"no line matching {pattern!r} in order:\n{text}"
        at += 1


# The waker's life, as the issue lists it, in the order it happens.
LIFE = [
    r"runtime +task 1 spawned",
    r"waker +created",
    r"waker +clone: refs 2",
    r"task +poll 1 -> Pending",
    None,  # the timer firing: differs between the modes
    r"waker +wake: consumes",
    r"runtime +task 1 woken",
    r"task +poll 2 -> Ready",
    r"waker +drop: refs 0",
    r"runtime +task 1's poll returned Ready",
]


def life(fired):
    return [fired if p is None else p for p in LIFE]


if GROUP == "classic":

    @test("3 s on the virtual clock logs every step of the waker in order")
    def _():
        status, out, err = run("3s", "--virtual", timeout=20)
        assert status == 0 and err == "", (status, err)
        expect_in_order(out, life(r"runtime +timer fired"))

    @test("the timer fires at 3.000000 s of virtual time, not before")
    def _():
        _, out, _ = run("3s", "--virtual")
        fired = [l for l in out.splitlines() if "timer fired" in l][0]
        assert fired.startswith("[   3.000000 s]"), fired
        pending = [l for l in out.splitlines() if "-> Pending" in l][0]
        assert pending.startswith("[   0.000000 s]"), pending

    @test("0.1s on the real clock logs the same steps")
    def _():
        status, out, _ = run("0.1s")
        assert status == 0
        expect_in_order(out, life(r"runtime +timer fired"))

    @test("a zero duration is ready on the first poll and drops the waker")
    def _():
        status, out, _ = run("0s", "--virtual")
        assert status == 0
        expect_in_order(out, [r"waker +created", r"poll 1 -> Ready",
                              r"waker +drop: refs 0"])
        assert "Pending" not in out, out

if GROUP == "thread":

    @test("--mode thread 20ms: the thread wakes the stored waker")
    def _():
        status, out, err = run("--mode", "thread", "20ms")
        assert status == 0 and err == "", (status, err)
        expect_in_order(out, [r"thread +timer thread started"]
                        + life(r"thread +timer fired"))
        woken = [l for l in out.splitlines() if "task 1 woken" in l][0]
        assert "another thread" in woken, woken

if GROUP == "many":

    @test("100000 timers, --json: fired == count, lateness >= 0")
    def _():
        status, out, err = run("--count", "100000", "--spread", "200ms",
                               "--json")
        assert status == 0, (status, err)
        assert err == "", "no progress bar when stderr is not a TTY"
        lines = out.strip().splitlines()
        assert len(lines) == 1, out
        summary = json.loads(lines[0])
        assert summary["n"] == 100000
        assert summary["fired"] == 100000, summary
        assert summary["errors"] == 0
        assert summary["late_min_us"] >= 0, summary
        for key in ("late_p50_us", "late_p90_us", "late_p99_us"):
            assert summary["late_min_us"] <= summary[key]
            assert summary[key] <= summary["late_max_us"]
        assert summary["maxrss_kb"] > 0 and summary["cpu_s"] >= 0
        assert sum(b["count"] for b in summary["histogram"]) == 100000

    @test("the virtual clock fires every timer exactly at its deadline")
    def _():
        status, out, _ = run("--count", "100000", "--spread", "1s",
                             "--virtual", "--json")
        assert status == 0
        summary = json.loads(out)
        assert summary["fired"] == 100000
        assert summary["late_max_us"] == 0, summary

    @test("the text summary has the figures and the histogram")
    def _():
        status, out, err = run("--count", "2000", "--spread", "20ms")
        assert status == 0 and err == "", err
        for word in ("fired        2000 of 2000", "wall time", "cpu time",
                     "peak memory", "p50", "p90", "p99", "max",
                     "lateness histogram"):
            assert word in out, (word, out)
        bars = [l for l in out.splitlines() if re.search(r"\|.*\|\s+\d+", l)]
        assert bars, out
        total = sum(int(l.split("|")[2].split()[0]) for l in bars)
        assert total == 2000, out

    @test("the histogram draws # without a UTF-8 locale and full blocks with")
    def _():
        env = dict(os.environ, LC_ALL="C")
        out = subprocess.run([EXE, "--count", "100", "--spread", "1ms",
                              "--virtual"], capture_output=True, text=True,
                             env=env, check=True).stdout
        assert "#" in out and "\u2588" not in out, out
        env["LC_ALL"] = "C.UTF-8"
        out = subprocess.run([EXE, "--count", "100", "--spread", "1ms",
                              "--virtual"], capture_output=True, text=True,
                             env=env, check=True).stdout
        assert "\u2588" in out, out

    @test("a count too large to allocate: ENOMEM, cleanly, exit 1")
    def _():
        status, out, err = run("--count", "10000000000000")
        assert status == 1, status
        assert err == ("evfut-timer: --count 10000000000000: "
                       "Cannot allocate memory\n"), err
        assert out == ""

if GROUP == "errors":
    BAD = [
        (["3x"], "3x"),
        (["-5s"], "-5s"),
        (["1.5"], "1.5"),
        (["abc"], "abc"),
        (["99999999999999999999s"], "99999999999999999999s"),
        (["400000000m"], "400000000m"),
        (["1s", "2s"], "2s"),
        (["--count", "-5"], "--count -5"),
        (["--count", "abc"], "--count abc"),
        (["--count", "0"], "--count 0"),
        (["--count", "99999999999999999999"], "--count 99999999999999999999"),
        (["--count"], "--count"),
        (["--count", "10", "--spread", "-1s"], "--spread -1s"),
        (["--count", "10", "--spread", "1 s"], "--spread 1 s"),
        (["--spread", "1s"], "--spread"),
        (["--json"], "--json"),
        (["--interval", "0s"], "--interval 0s"),
        (["--interval", "10ms", "--missed", "often"], "--missed often"),
        (["--interval", "10ms", "--ticks", "-1"], "--ticks -1"),
        (["--interval", "10ms", "--stall", "x"], "--stall x"),
        (["--ticks", "3"], "--ticks"),
        (["--count", "3", "--interval", "1s"], "--interval"),
        (["--mode", "fork"], "--mode fork"),
        (["--mode", "thread", "--virtual"], "--virtual"),
        (["--frobnicate"], "--frobnicate"),
        (["-q"], "-q"),
        (["--virtual=yes"], "--virtual=yes"),
        (["--trace"], "--trace"),
    ]
    for args, named in BAD:

        @test(f"{' '.join(args)}: exit 2, one line naming {named!r}")
        def _(args=args, named=named):
            status, out, err = run(*args, timeout=10)
            assert status == 2, (status, err)
            assert out == "", out
            assert err.count("\n") == 1, err
            assert err.startswith(f"evfut-timer: {named}"), err

    @test("--help prints the usage on stdout, exit 0")
    def _():
        status, out, err = run("--help")
        assert status == 0 and err == ""
        assert out.startswith("Usage: evfut-timer"), out
        assert run("-h")[1] == out

    @test("a trace file that cannot be created: exit 1, named")
    def _():
        status, _, err = run("1ms", "--virtual", "--trace",
                             "/nonexistent/dir/t.json")
        assert status == 1
        assert err.startswith("evfut-timer: --trace /nonexistent/dir/t.json:")

    @test("durations: ns, us, ms, s, m and fractions are accepted")
    def _():
        for d in ("5ns", "7us", "250ms", "1.5s", ".5s", "0.001m", "2m"):
            status, out, err = run(d, "--virtual", timeout=10)
            assert status == 0, (d, err)

if GROUP == "interval":
    # (tick, scheduled, actual) in seconds for a 100 ms interval, a 350 ms
    # stall after tick 3, on the virtual clock.
    EXPECTED = {
        "burst": [(1, .1, .1), (2, .2, .2), (3, .3, .3), (4, .4, .65),
                  (5, .5, .65), (6, .6, .65), (7, .7, .7), (8, .8, .8)],
        "delay": [(1, .1, .1), (2, .2, .2), (3, .3, .3), (4, .4, .65),
                  (5, .75, .75), (6, .85, .85), (7, .95, .95),
                  (8, 1.05, 1.05)],
        "skip": [(1, .1, .1), (2, .2, .2), (3, .3, .3), (4, .4, .65),
                 (5, .7, .7), (6, .8, .8), (7, .9, .9), (8, 1.0, 1.0)],
    }

    def ticks(out):
        rows = []
        for line in out.splitlines():
            m = re.match(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
            if m:
                rows.append((int(m.group(1)), float(m.group(2)),
                             float(m.group(3))))
        return rows

    for policy, expected in EXPECTED.items():

        @test(f"--missed {policy} with a stall: the expected ticks")
        def _(policy=policy, expected=expected):
            status, out, err = run("--interval", "100ms", "--ticks", "8",
                                   "--missed", policy, "--stall", "350ms",
                                   "--virtual")
            assert status == 0, err
            got = ticks(out)
            assert len(got) == len(expected), out
            for (t, s, a), (et, es, ea) in zip(got, expected):
                assert t == et and abs(s - es) < 1e-9 and abs(a - ea) < 1e-9, \
                    f"{policy}: got {(t, s, a)}, expected {(et, es, ea)}\n{out}"
            assert "stall" in out.splitlines()[4], out

    @test("without a stall every policy ticks on schedule")
    def _():
        for policy in EXPECTED:
            _, out, _ = run("--interval", "1s", "--ticks", "20",
                            "--missed", policy, "--virtual")
            got = ticks(out)
            assert [t for t, _, _ in got] == list(range(1, 21)), out
            assert all(abs(s - t) < 1e-9 and abs(a - t) < 1e-9
                       for t, s, a in got), out

    @test("on the real clock no tick comes before its schedule")
    def _():
        _, out, _ = run("--interval", "5ms", "--ticks", "5", "--missed",
                        "skip", "--stall", "12ms", "--stall-after", "2")
        got = ticks(out)
        assert [t for t, _, _ in got] == [1, 2, 3, 4, 5], out
        assert all(a >= s for _, s, a in got), out


def check_trace(path, expect_fire=True, expect_remote=False):
    """Valid JSON, and consistent: polls do not overlap, and every poll is
    preceded by the wake (or the spawn) that caused it."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    events = doc["traceEvents"]
    ns = lambda us: round(us * 1000)  # ts and dur have 3 decimals
    polls = sorted((e for e in events if e["ph"] == "X"),
                   key=lambda e: e["ts"])
    assert polls, "no polls traced"
    for e in events:
        assert {"name", "ph", "pid", "tid"} <= e.keys(), e
        if e["ph"] in ("X", "i"):
            assert "ts" in e and "args" in e, e
        if e["ph"] == "X":
            assert e["dur"] >= 0 and "task" in e["args"], e
    end = -1
    for p in polls:
        assert ns(p["ts"]) >= end, f"overlapping polls at {p['ts']}"
        end = ns(p["ts"]) + ns(p["dur"])
    causes = {}
    for e in events:
        if e["ph"] == "i" and e["name"] in ("spawn", "wake"):
            causes.setdefault(e["args"]["task"], []).append(
                (ns(e["ts"]), e["name"]))
    by_task = {}
    for p in polls:
        by_task.setdefault(p["args"]["task"], []).append(p)
    for task, ps in by_task.items():
        prev_end = None
        for p in ps:
            begin = ns(p["ts"])
            want = "spawn" if prev_end is None else "wake"
            lo = -1 if prev_end is None else prev_end
            assert any(name == want and lo <= t <= begin
                       for t, name in causes.get(task, [])), \
                f"task {task}: poll at {p['ts']} us without a {want} before"
            prev_end = begin + ns(p["dur"])
        assert ps[-1]["args"]["ready"], f"task {task} never ready"
    fires = [e for e in events if e["name"] == "timer fire"]
    if expect_fire:
        assert fires, "no timer fire traced"
        for e in fires:
            assert e["args"]["now_ns"] >= e["args"]["deadline_ns"], e
    if expect_remote:
        assert any(e["name"] == "wake" and e["args"]["remote"]
                   for e in events), "no remote wake traced"
    return doc


if GROUP == "trace":
    tmp = TMP

    @test("--trace of the classic example: valid and consistent")
    def _():
        status, _, err = run("20ms", "--trace", str(tmp / "classic.json"))
        assert status == 0, err
        check_trace(tmp / "classic.json")

    @test("--trace of the thread mode: the wake is remote")
    def _():
        status, _, err = run("--mode", "thread", "10ms", "--trace",
                             str(tmp / "thread.json"))
        assert status == 0, err
        check_trace(tmp / "thread.json", expect_fire=False,
                    expect_remote=True)

    @test("--trace of 2000 timers: valid and consistent")
    def _():
        status, _, err = run("--count", "2000", "--spread", "20ms",
                             "--trace", str(tmp / "many.json"))
        assert status == 0, err
        doc = check_trace(tmp / "many.json")
        polls = [e for e in doc["traceEvents"] if e["ph"] == "X"]
        assert len({p["args"]["task"] for p in polls}) == 2000

    @test("--trace of an interval with a stall, on the virtual clock")
    def _():
        status, _, err = run("--interval", "100ms", "--ticks", "6",
                             "--stall", "350ms", "--virtual", "--trace",
                             str(tmp / "interval.json"))
        assert status == 0, err
        check_trace(tmp / "interval.json")


if GROUP == "png":
    tmp = TMP

    @test("trace-to-png.py --svg writes a well-formed SVG timeline")
    def _():
        status, _, err = run("--interval", "10ms", "--ticks", "6", "--stall",
                             "25ms", "--trace", str(tmp / "t.json"))
        assert status == 0, err
        subprocess.run([sys.executable, TO_PNG, "--svg", str(tmp / "t.json"),
                        str(tmp / "t.svg")], check=True, timeout=60)
        root = ET.parse(tmp / "t.svg").getroot()
        assert root.tag.endswith("svg"), root.tag
        rects = [e for e in root.iter() if e.tag.endswith("rect")]
        assert len(rects) >= 6, "a rectangle per poll at least"

    @test("trace-to-png.py writes a PNG when rsvg-convert is there")
    def _():
        if shutil.which("rsvg-convert") is None:
            return "skip rsvg-convert is not installed"
        subprocess.run([sys.executable, TO_PNG, str(tmp / "t.json"),
                        str(tmp / "t.png")], check=True, timeout=60)
        assert (tmp / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

if GROUP == "man":

    @test("the man page has its sections and documents every option")
    def _():
        page = pathlib.Path(MAN).read_text(encoding="utf-8")
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                        "EXIT STATUS", "EXAMPLES"):
            assert re.search(rf"^\.SH \"?{section}", page, re.M), section
        _, usage, _ = run("--help")
        for option in set(re.findall(r"--[a-z][a-z-]*", usage)):
            assert option.replace("-", r"\-") in page, option


def main():
    try:
        return run_tests()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


def run_tests():
    if not results:
        print(f"Bail out! unknown group {GROUP!r}")
        return 1
    failed = 0
    for i, (name, fn) in enumerate(results, 1):
        try:
            outcome = fn()
        except (AssertionError, subprocess.SubprocessError, OSError,
                ValueError, KeyError) as err:
            failed += 1
            print(f"not ok {i} - {name}")
            for line in str(err).splitlines() or [type(err).__name__]:
                print(f"# {line}")
            continue
        skip = f" # SKIP {outcome[5:]}" if isinstance(outcome, str) else ""
        print(f"ok {i} - {name}{skip}")
    print(f"1..{len(results)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
