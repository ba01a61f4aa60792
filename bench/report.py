#!/usr/bin/python3
"""bench/report.py: the table and the charts of a bench/run.

  bench/report.py --table RESULTS.jsonl [--meta META.json]
      medians over the rounds, and evfut's ratio to each peer (Markdown)
  bench/report.py --charts DIR RESULTS.jsonl
      DIR/timers-light-lateness.png, DIR/timers-fire.png,
      DIR/throughput.png (needs python3-matplotlib, from Debian)

RESULTS.jsonl holds the JSON lines of shared/bench/WORKLOADS.md with "lib"
and "round" added by bench/run. The ratio is always "how many times better
evfut is": peer / evfut for a figure where lower is better (time, lateness,
memory), evfut / peer where higher is better (throughput). Above 1.00
evfut is ahead; below, behind.
"""
import argparse
import collections
import json
import statistics
import sys

# workload -> [(metric, unit, lower_is_better)]
METRICS = {
    "spawn": [("ns_per_op", "ns/task", True)],
    "pingpong": [("ns_per_op", "ns/round trip", True)],
    "timers_fire": [("cpu_s", "CPU s", True),
                    ("late_p50_us", "p50 late µs", True),
                    ("late_p99_us", "p99 late µs", True),
                    ("late_max_us", "max late µs", True),
                    ("maxrss_kb", "max RSS KiB", True)],
    "timers_light": [("late_p50_us", "p50 late µs", True),
                     ("late_p99_us", "p99 late µs", True),
                     ("late_max_us", "max late µs", True)],
    "timers_cancel": [("ns_per_op", "ns/(arm+cancel)", True)],
    "idle_memory": [("bytes_per_task", "bytes/task", True)],
    "echo": [("rtt_per_s", "round trips/s", False)],
    "http": [("req_per_s", "requests/s", False),
             ("cpu_us_per_req", "server CPU µs/req", True)],
}
ORDER = list(METRICS)
LIB_ORDER = ["evfut", "libevent", "libevent-prealloc", "libevent-precise",
             "libuv", "libuv-timer0", "libuv-idle", "libuv-async", "libev",
             "bare-timerfd", "nginx", "evhttp"]


def lib_key(lib):
    return (LIB_ORDER.index(lib) if lib in LIB_ORDER else len(LIB_ORDER), lib)


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def medians(rows):
    """{workload: {lib: {metric: (median, n_rounds, n)}}}"""
    vals = collections.defaultdict(lambda: collections.defaultdict(
        lambda: collections.defaultdict(list)))
    size = {}
    for r in rows:
        w, lib = r.get("workload"), r.get("lib", "?")
        if w not in METRICS:
            continue
        size[(w, lib)] = r.get("n")
        for m, _, _ in METRICS[w]:
            if isinstance(r.get(m), (int, float)):
                vals[w][lib][m].append(float(r[m]))
    out = {}
    for w, libs in vals.items():
        out[w] = {lib: {m: (statistics.median(v), len(v), size[(w, lib)])
                        for m, v in ms.items()}
                  for lib, ms in libs.items()}
    return out


def ratio(evfut, peer, lower):
    if evfut is None or peer is None or evfut <= 0 or peer <= 0:
        return None
    return peer / evfut if lower else evfut / peer


def fmt(v):
    if v is None:
        return "—"
    if abs(v) >= 100000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table(med, out):
    out.write("| workload | metric | evfut | peer | peer's figure | "
              "evfut ratio |\n|---|---|---:|---|---:|---:|\n")
    for w in ORDER:
        if w not in med:
            continue
        libs = sorted(med[w], key=lib_key)
        for m, unit, lower in METRICS[w]:
            ev = med[w].get("evfut", {}).get(m)
            peers = [lib for lib in libs if lib != "evfut" and m in med[w][lib]]
            for lib in peers or ["—"]:
                pv = med[w].get(lib, {}).get(m)
                r = ratio(ev[0] if ev else None, pv[0] if pv else None, lower)
                early = pv is not None and pv[0] <= 0 and m.startswith("late")
                rs = "fires early" if early else "—" if r is None else (
                    f"**{r:.2f}×**" if r >= 1 else f"{r:.2f}×")
                out.write(f"| {w} | {unit} ({'lower' if lower else 'higher'}"
                          f" is better) | {fmt(ev[0] if ev else None)} | {lib}"
                          f" | {fmt(pv[0] if pv else None)} | {rs} |\n")
    rounds = {v[1] for libs in med.values() for ms in libs.values()
              for v in ms.values()}
    out.write(f"\nMedians of {'/'.join(map(str, sorted(rounds)))} round(s). "
              "Ratio: how many times better evfut is (peer ÷ evfut where "
              "lower is better, evfut ÷ peer where higher is better); "
              "**bold**: evfut ahead.\n")
    sizes = {(w, lib): next(iter(ms.values()))[2]
             for w, libs in med.items() for lib, ms in libs.items()}
    odd = [f"{w} {lib} n={n}" for (w, lib), n in sorted(sizes.items())
           if n is not None and n != sizes.get((w, "evfut"))
           and w not in ("echo", "http")]
    if odd:
        out.write("Sizes that differ from evfut's: " + ", ".join(odd) + "\n")


def charts(med, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def color(lib):
        if lib == "evfut":
            return "#d62728"
        if lib == "bare-timerfd":
            return "#7f7f7f"
        return {"libevent": "#1f77b4", "libuv": "#2ca02c",
                "libev": "#9467bd", "nginx": "#8c564b",
                "evhttp": "#17becf"}.get(lib.split("-")[0], "#bcbd22")

    def lateness(ax, w, title):
        libs = sorted(med.get(w, {}), key=lib_key)
        keys = [("late_p50_us", "p50"), ("late_p99_us", "p99"),
                ("late_max_us", "max")]
        width = 0.8 / len(keys)
        for k, (m, label) in enumerate(keys):
            ys = [max(med[w][lib].get(m, (0,))[0], 1.0) for lib in libs]
            bars = ax.bar([i + (k - 1) * width for i in range(len(libs))], ys,
                          width, label=label,
                          color=["#fdae6b", "#e6550d", "#7f2704"][k])
            for b, lib in zip(bars, libs):
                v = med[w][lib].get(m, (None,))[0]
                ax.annotate(fmt(v), (b.get_x() + b.get_width() / 2,
                                     b.get_height()),
                            ha="center", va="bottom", fontsize=7, rotation=90)
        ax.set_yscale("log")
        ax.set_xticks(range(len(libs)))
        ax.set_xticklabels(libs, rotation=25, ha="right")
        for t, lib in zip(ax.get_xticklabels(), libs):
            if lib == "evfut":
                t.set_fontweight("bold")
        ax.set_ylabel("lateness, µs (log; ≤ 1 drawn at 1)")
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(axis="y", alpha=0.3)

    written = []
    if "timers_light" in med:
        fig, ax = plt.subplots(figsize=(9, 5.5))
        lateness(ax, "timers_light",
                 "timers_light: 10,000 timers in [1, 1000] ms — lateness "
                 "(firing − deadline)")
        fig.tight_layout()
        fig.savefig(f"{outdir}/timers-light-lateness.png", dpi=110)
        plt.close(fig)
        written.append("timers-light-lateness.png")

    if "timers_fire" in med:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5.5),
                                     gridspec_kw={"width_ratios": [1, 1.6]})
        libs = sorted(med["timers_fire"], key=lib_key)
        ys = [med["timers_fire"][lib].get("cpu_s", (0,))[0] for lib in libs]
        bars = a1.bar(range(len(libs)), ys, color=[color(l) for l in libs])
        a1.bar_label(bars, [fmt(y) for y in ys], fontsize=8)
        a1.set_xticks(range(len(libs)))
        a1.set_xticklabels(libs, rotation=25, ha="right")
        a1.set_ylabel("CPU seconds (user + sys), lower is better")
        a1.set_title("timers_fire: CPU for 1,000,000 timers")
        a1.grid(axis="y", alpha=0.3)
        lateness(a2, "timers_fire", "timers_fire: lateness")
        fig.tight_layout()
        fig.savefig(f"{outdir}/timers-fire.png", dpi=110)
        plt.close(fig)
        written.append("timers-fire.png")

    panels = [("spawn", "ns_per_op", "spawn: M tasks/s", 1e3),
              ("pingpong", "ns_per_op", "pingpong: M round trips/s", 1e3),
              ("timers_cancel", "ns_per_op",
               "timers_cancel: M arm+cancel/s", 1e3),
              ("idle_memory", "bytes_per_task",
               "idle_memory: bytes/task (lower is better)", None),
              ("echo", "rtt_per_s", "echo: k round trips/s", 1e-3),
              ("http", "req_per_s", "http: k requests/s", 1e-3)]
    panels = [p for p in panels if p[0] in med]
    if panels:
        cols = 3
        rows = (len(panels) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(14, 4.6 * rows),
                                 squeeze=False)
        for ax, (w, m, title, scale) in zip(axes.flat, panels):
            libs = [l for l in sorted(med[w], key=lib_key) if m in med[w][l]]
            raw = [med[w][l][m][0] for l in libs]
            if scale is None:
                ys = raw
            elif m == "ns_per_op":
                ys = [scale / v if v > 0 else 0 for v in raw]
            else:
                ys = [v * scale for v in raw]
            bars = ax.bar(range(len(libs)), ys, color=[color(l) for l in libs])
            ax.bar_label(bars, [fmt(y) for y in ys], fontsize=8)
            ax.set_xticks(range(len(libs)))
            ax.set_xticklabels(libs, rotation=30, ha="right", fontsize=8)
            for t, lib in zip(ax.get_xticklabels(), libs):
                if lib == "evfut":
                    t.set_fontweight("bold")
            ax.set_title(title, fontsize=10)
            ax.grid(axis="y", alpha=0.3)
            ax.margins(y=0.15)
        for ax in list(axes.flat)[len(panels):]:
            ax.axis("off")
        fig.suptitle("Throughput per workload (higher is better unless "
                     "said; evfut in red)")
        fig.tight_layout()
        fig.savefig(f"{outdir}/throughput.png", dpi=110)
        plt.close(fig)
        written.append("throughput.png")
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--meta")
    ap.add_argument("--charts", metavar="DIR")
    a = ap.parse_args()
    med = medians(load(a.results))
    if a.meta:
        m = json.load(open(a.meta))
        sys.stdout.write(f"{m['command']} — {m['started']} — {m['cpu_model']},"
                         f" {m['cpus']} CPUs — load {m['load_start']} → "
                         f"{m['load_end']}\n\n")
        if m.get("mode") == "quick":
            sys.stdout.write("QUICK RUN (reduced N, 1 round): not the "
                             "workloads' figures.\n\n")
    if a.table or not a.charts:
        table(med, sys.stdout)
    if a.charts:
        for name in charts(med, a.charts):
            print(f"wrote {a.charts}/{name}")


if __name__ == "__main__":
    main()
