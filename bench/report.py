#!/usr/bin/python3
"""bench/report.py - merge the benchmark JSON into one table and plot data.

    report.py DIR [--docs DOCS_MD]

DIR holds ours.json (actors-bench --json), pyclient.json and
goclient.json (the Python and Go clients, bench/peers/*client_bench.py),
pykka.json, dask.json,
erlang.json (a peer that failed left an empty or broken file: its column
says n/a), and seq_<system>.txt latency samples. Writes DIR/table.md,
DIR/cdf_<system>.dat and DIR/windows.dat for bench/plot.gp, prints the
table. With --docs, replaces the part of DOCS_MD between
<!-- bench:begin --> and <!-- bench:end --> with the table and machine.
"""
import json
import math
import os
import sys

# pyclient, goclient: our Python and Go clients (clients/python,
# clients/go) through the same broker and chaos actor as "ours" (the C
# client), one connection, pipelined
PEERS = (("pyclient", "Python client"), ("goclient", "Go client"),
         ("pykka", "Pykka"), ("dask", "Dask"), ("erlang", "Erlang"))
COLS = ["figure", "ours", "raw broker", "ratio", "Python client",
        "Go client", "Pykka", "Dask", "Erlang", "direct", "unit"]


def load(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        try:
            return json.loads(text)
        except ValueError:
            pass
        # a peer may print log lines first: take the last JSON line
        for line in reversed(text.splitlines()):
            line = line.strip()
            if line.startswith("{") and line.endswith("}"):
                return json.loads(line)
        return json.loads(text)
    except (OSError, ValueError):
        return None


def fmt(v, unit):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if unit in ("us", "ms"):
        return "%.1f" % v
    if unit in ("fds", "%cpu"):  # the idle figures: per actor, or % of a CPU
        return "%.2f" % v
    if unit == "s":  # the concurrency figures (conc_*): seconds
        return "%.3f" % v
    return "{:,}".format(int(round(v)))


def build_rows(ours, peers):
    rows = []
    for f in ours.get("figures", []):
        unit = f.get("unit", "")
        ratio = f.get("ratio")
        # ours only (the supervisor figures): no raw broker, no direct pair
        only = f.get("ours_only", False)
        # persisted (persist_*): "raw" is the in-memory account, no direct
        vs_mem = f.get("raw_is") in ("memory", "ideal")
        row = [f["name"], fmt(f.get("ours"), unit),
               "-" if only else fmt(f.get("raw"), unit),
               "-" if only else "n/a" if ratio is None else "%.2f" % ratio]
        for key, _ in PEERS:
            p = peers.get(key)
            if p is None:
                row.append("n/a")
            elif f["name"] in p.get("figures", {}):
                row.append(fmt(p["figures"][f["name"]], unit))
            else:
                row.append("-")
        # direct not run on purpose (fan-out beyond 100, the idle figures)
        no_direct = f.get("no_direct", False)
        row.append("-" if only or vs_mem or no_direct
                   else fmt(f.get("direct"), unit))
        # the target, where it set one (the idle figures)
        row.append(unit + (" (target %s)" % f["target"]
                           if f.get("target") else ""))
        rows.append(row)
    return rows


def text_table(rows):
    widths = [max(len(r[i]) for r in rows + [COLS]) for i in range(len(COLS))]
    out = []
    for r in [COLS] + rows:
        cells = [r[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1])]
        cells.append(r[-1])
        out.append("  ".join(cells))
    return "\n".join(out)


def md_table(rows):
    out = ["| " + " | ".join(COLS) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(COLS) - 2) + ["---"]) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def read_context(d):
    ctx = {}
    try:
        with open(os.path.join(d, "context.txt")) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                ctx[k] = v
    except OSError:
        pass
    return ctx


def machine_md(ours, peers, ctx=None):
    ctx = ctx or {}
    m = ours.get("machine", {})
    lines = []
    if ctx:
        lines.append("- run: %s, commit %s; load average (1, 5, 15 min) "
                     "%s before, %s after" % (
                         ctx.get("date", "?"), ctx.get("commit", "?"),
                         ctx.get("load_before", "?"),
                         ctx.get("load_after", "?")))
    lines += ["- CPU: %s, %s logical CPUs; kernel %s; libzmq %s" % (
        m.get("cpu", "?"), m.get("cpus", "?"), m.get("kernel", "?"),
        m.get("libzmq", "?"))]
    if ctx.get("versions"):
        lines.append("- built with: " + ctx["versions"])
    lines.append("- actors-bench: %s s per workload (sequential tcp/16 B: "
                 "twice that), median of %s rounds, chaos --prefetch %s" % (
                     ours.get("seconds"), ours.get("rounds", 1),
                     ours.get("prefetch")))
    vers = []
    for key, name in PEERS:
        p = peers.get(key)
        vers.append("%s %s" % (name, p.get("version") if p else "n/a (did "
                               "not run)"))
    lines.append("- peers: " + ", ".join(vers))
    if any(f.get("raw_is") == "memory" for f in ours.get("figures", [])):
        lines.append("- persist_* rows: deposits/s on the account service "
                     "per backend and durability policy, 64 in flight; "
                     "their raw broker column is the in-memory account "
                     "(persist_memory) of the same run, so ratio = "
                     "persisted / in-memory")
    if any(f.get("raw_is") == "ideal" for f in ours.get("figures", [])):
        lines.append("- conc_* rows: 40 tasks of 100 ms on a pool of 4 "
                     "actors and on one actor of max_concurrency 4; their "
                     "raw broker column is the ideal 1 s, so ratio = "
                     "measured / ideal (target <= 1.2)")
    if any(f.get("raw_is") == "curve_off" for f in ours.get("figures", [])):
        lines.append("- curve_* rows: our stack with CURVE keys (ours "
                     "column) and without (raw broker column), in turns; "
                     "ratio = CURVE on / off")
    errs = ours.get("errors", {})
    if errs.get("ours"):
        lines.append("- ours: %d error replies during the run" % errs["ours"])
    if ours.get("failures"):
        lines.append("- could not run: " + ours["failures"])
    return "\n".join(lines)


OURS, RAW, DIRECT = "lc rgb '#c0392b'", "lc rgb '#2471a3'", "lc rgb '#555555'"
CDF_SERIES = (("ours", "ours (broker + chaos)", "lw 2 " + OURS),
              ("raw", "raw broker", "lw 2 " + RAW),
              ("direct", "direct pair", "lw 1 dt 2 " + DIRECT))
WIN_SERIES = ((2, "ours, tcp", "lw 2 pt 7 " + OURS),
              (3, "raw broker, tcp", "lw 2 pt 5 " + RAW),
              (5, "ours, ipc", "lw 1 pt 7 dt 2 " + OURS),
              (6, "raw broker, ipc", "lw 1 pt 5 dt 2 " + RAW),
              (4, "direct pair, tcp", "lw 1 pt 1 dt 3 " + DIRECT))


def write_plot_data(d, ours):
    """Data files plus series.gp: the plot commands for the series that
    have data (gnuplot stops on a series with no valid point)."""
    have_cdf = []
    for sysname in ("ours", "raw", "direct"):
        path = os.path.join(d, "seq_%s.txt" % sysname)
        try:
            with open(path) as f:
                v = [float(x) for x in f if x.strip()]
        except OSError:
            v = []
        with open(os.path.join(d, "cdf_%s.dat" % sysname), "w") as out:
            n = len(v)
            if n == 0:
                out.write("nan nan\n")
                continue
            have_cdf.append(sysname)
            step = max(1, n // 4000)
            for i in range(0, n, step):
                out.write("%.3f %.6f\n" % (v[i], (i + 1) / n))
            out.write("%.3f %.6f\n" % (v[-1], 1.0))
    figs = {f["name"]: f for f in ours.get("figures", [])}
    have_col = set()
    with open(os.path.join(d, "windows.dat"), "w") as out:
        out.write("# window ours raw direct ours_ipc raw_ipc direct_ipc\n")
        for w in (1, 16, 256, 4096):
            cells = [str(w)]
            for suffix in ("", "@ipc/16B"):
                f = figs.get("pipelined_w%d_calls_per_s%s" % (w, suffix), {})
                for k in ("ours", "raw", "direct"):
                    v = f.get(k)
                    if v is not None:
                        have_col.add(len(cells) + 1)
                    cells.append("nan" if v is None else str(v))
            out.write(" ".join(cells) + "\n")
    lat = ", ".join("dir.'/cdf_%s.dat' using 1:2 with lines %s title '%s'"
                    % (k, style, title) for k, title, style in CDF_SERIES
                    if k in have_cdf)
    win = ", ".join("dir.'/windows.dat' using 1:%d with linespoints %s "
                    "title '%s'" % (col, style, title)
                    for col, title, style in WIN_SERIES if col in have_col)
    with open(os.path.join(d, "series.gp"), "w") as out:
        # gnuplot single-quoted strings: a quote inside is doubled
        for var, cmd in (("latplot", lat), ("winplot", win)):
            out.write("%s = '%s'\n" % (var, ("plot " + cmd).replace("'", "''")
                                          if cmd else ""))


def update_docs(path, block):
    with open(path) as f:
        text = f.read()
    b, e = "<!-- bench:begin -->", "<!-- bench:end -->"
    if b not in text or e not in text:
        print("report: %s has no bench markers; not updated" % path,
              file=sys.stderr)
        return
    head, rest = text.split(b, 1)
    _, tail = rest.split(e, 1)
    with open(path, "w") as f:
        f.write(head + b + "\n" + block + "\n" + e + tail)


def main():
    d = sys.argv[1]
    ours = load(os.path.join(d, "ours.json"))
    if ours is None:
        print("report: actors-bench produced no JSON (see %s)" % d)
        ours = {"figures": []}
    peers = {key: load(os.path.join(d, key + ".json")) for key, _ in PEERS}
    peers = {k: v for k, v in peers.items() if v and v.get("figures")}
    rows = build_rows(ours, peers)
    ctx = read_context(d)
    block = md_table(rows) + "\n\n" + machine_md(ours, peers, ctx)
    with open(os.path.join(d, "table.md"), "w") as f:
        f.write(block + "\n")
    write_plot_data(d, ours)
    if "--docs" in sys.argv:
        update_docs(sys.argv[sys.argv.index("--docs") + 1], block)
    print(text_table(rows))
    print()
    print(machine_md(ours, peers, ctx))


if __name__ == "__main__":
    main()
