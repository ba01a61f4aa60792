#!/usr/bin/env python3
"""Render an evfut-timer trace (Chrome trace-event JSON) as a PNG timeline.

Usage: tools/trace-to-png.py [--svg] [--width PX] [--max-lanes N]
                             [--title TEXT] TRACE.json OUT.png

One lane per task (tasks are grouped into ranges when there are more than
--max-lanes), with a lane for timer fires above them: a poll is a bar
(light green while it returned Pending, dark green for the poll that
returned Ready), a wake a blue triangle (orange when it came from another
thread), a spawn a grey dot, a timer fire a red tick.

The drawing is an SVG written with the standard library; rsvg-convert
(Debian package librsvg2-bin) turns it into the PNG, and the script
installs that package with apt-get when it is missing, as ./dev does.
With --svg the SVG itself is written and nothing is installed.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from xml.sax.saxutils import escape

LANE_H = 22
LABEL_W = 170
TOP = 48
COLORS = {
    "pending": "#8fd18f",
    "ready": "#1f7a1f",
    "wake": "#2b6cd4",
    "remote": "#e8871e",
    "spawn": "#777777",
    "fire": "#d62728",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    return [e for e in events if e.get("ph") in ("X", "i")]


def nice_step(span):
    """A 1-2-5 step giving about eight ticks over span."""
    raw = span / 8 if span > 0 else 1
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def fmt_us(us):
    if us >= 1e6:
        return f"{us / 1e6:g} s"
    if us >= 1e3:
        return f"{us / 1e3:g} ms"
    return f"{us:g} us"


class Lanes:
    """Maps a task to its lane; groups tasks when there are too many."""

    def __init__(self, tasks, where, max_lanes):
        self.tasks = sorted(tasks)
        per = max(1, math.ceil(len(self.tasks) / max_lanes))
        self.index = {t: i // per for i, t in enumerate(self.tasks)}
        self.labels = []
        for start in range(0, len(self.tasks), per):
            group = self.tasks[start:start + per]
            if len(group) == 1:
                label = f"task {group[0]}"
                if where.get(group[0]):
                    label += f" ({os.path.basename(where[group[0]])})"
            else:
                label = f"tasks {group[0]}-{group[-1]}"
            self.labels.append(label)

    def y(self, task):
        return TOP + LANE_H * (1 + self.index[task])


def render(events, width, max_lanes, title):
    tasks = {e["args"]["task"] for e in events if "task" in e.get("args", {})}
    where = {e["args"]["task"]: e["args"].get("where", "")
             for e in events if e["name"] == "spawn"}
    lanes = Lanes(tasks, where, max_lanes)
    t0 = min(e["ts"] for e in events)
    t1 = max(e["ts"] + e.get("dur", 0) for e in events)
    span = max(t1 - t0, 1e-3)
    plot_w = width - LABEL_W - 20
    x = lambda ts: LABEL_W + (ts - t0) / span * plot_w
    height = TOP + LANE_H * (len(lanes.labels) + 1) + 70
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" font-family="DejaVu Sans, sans-serif" '
           f'font-size="12">',
           f'<rect x="0" y="0" width="{width}" height="{height}" '
           f'fill="white"/>',
           f'<text x="10" y="22" font-size="15" font-weight="bold">'
           f'{escape(title)}</text>']
    out += grid(t0, span, x, height)
    out += lane_labels(lanes)
    out += marks(events, lanes, x)
    out += legend(height)
    out.append("</svg>")
    return "\n".join(out)


def grid(t0, span, x, height):
    step = nice_step(span)
    out = [f'<text x="{x(t0 + span) + 10:.1f}" y="22" text-anchor="end" '
           f'fill="#555">time since the first event</text>']
    tick = 0.0
    while tick <= span + 1e-9:
        px = x(t0 + tick)
        out.append(f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" '
                   f'y2="{height - 56}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{px:.1f}" y="{TOP - 6}" text-anchor="middle" '
                   f'fill="#555">{fmt_us(round(tick, 3))}</text>')
        tick += step
    return out


def lane_labels(lanes):
    out = [f'<text x="10" y="{TOP + LANE_H * 0.7:.1f}" '
           f'fill="{COLORS["fire"]}">timer fires</text>']
    for i, label in enumerate(lanes.labels):
        y = TOP + LANE_H * (i + 1)
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{y}" width="100%" height="{LANE_H}" '
                       f'fill="#f6f6f6"/>')
        out.append(f'<text x="10" y="{y + LANE_H * 0.7:.1f}">'
                   f'{escape(label)}</text>')
    return out


def marks(events, lanes, x):
    out = []
    for e in sorted(events, key=lambda e: e["ph"] == "i"):
        args = e.get("args", {})
        px = x(e["ts"])
        if e["ph"] == "X":
            y = lanes.y(args["task"])
            w = max(x(e["ts"] + e["dur"]) - px, 2.0)
            color = COLORS["ready" if args.get("ready") else "pending"]
            out.append(f'<rect x="{px:.2f}" y="{y + 4}" width="{w:.2f}" '
                       f'height="{LANE_H - 8}" fill="{color}"/>')
        elif e["name"] == "wake":
            y = lanes.y(args["task"])
            color = COLORS["remote" if args.get("remote") else "wake"]
            out.append(f'<path d="M{px - 4:.2f},{y + 1} L{px + 4:.2f},{y + 1} '
                       f'L{px:.2f},{y + 8} Z" fill="{color}"/>')
        elif e["name"] == "spawn":
            y = lanes.y(args["task"])
            out.append(f'<circle cx="{px:.2f}" cy="{y + LANE_H / 2}" r="3" '
                       f'fill="{COLORS["spawn"]}"/>')
        elif e["name"] == "timer fire":
            out.append(f'<line x1="{px:.2f}" y1="{TOP + 3}" x2="{px:.2f}" '
                       f'y2="{TOP + LANE_H - 3}" stroke="{COLORS["fire"]}" '
                       f'stroke-width="2"/>')
    return out


def legend(height):
    items = [("pending", "poll -> Pending"), ("ready", "poll -> Ready"),
             ("wake", "wake"), ("remote", "wake from another thread"),
             ("spawn", "spawn"), ("fire", "timer fire")]
    out = []
    px = LABEL_W
    y = height - 30
    for key, text in items:
        out.append(f'<rect x="{px}" y="{y - 10}" width="12" height="12" '
                   f'fill="{COLORS[key]}"/>')
        out.append(f'<text x="{px + 17}" y="{y}">{escape(text)}</text>')
        px += 30 + 7 * len(text)
    return out


def ensure_rsvg_convert():
    """rsvg-convert, installed from Debian's librsvg2-bin if missing."""
    found = shutil.which("rsvg-convert")
    if found:
        return found
    print("trace-to-png: installing librsvg2-bin (rsvg-convert)",
          file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "librsvg2-bin"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    found = shutil.which("rsvg-convert")
    if not found:
        sys.exit("trace-to-png: rsvg-convert still missing after install")
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--svg", action="store_true",
                    help="write the SVG itself, no conversion")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--max-lanes", type=int, default=24)
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    events = load(args.trace)
    if not events:
        sys.exit(f"trace-to-png: {args.trace}: no events")
    title = args.title or f"evfut-timer trace: {os.path.basename(args.trace)}"
    svg = render(events, args.width, max(1, args.max_lanes), title)
    if args.svg:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(svg)
        return 0
    rsvg = ensure_rsvg_convert()
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False,
                                     encoding="utf-8") as f:
        f.write(svg)
    try:
        subprocess.run([rsvg, "-f", "png", "-o", args.out, f.name],
                       check=True)
    finally:
        os.unlink(f.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
