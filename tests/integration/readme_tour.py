#!/usr/bin/python3
# tests/integration/readme_tour.py - the README's quick tour as a script,
# and its output checked against the README (test_readme_tour.sh).
# SPDX-License-Identifier: MIT
#
#   readme_tour.py script README.md TMPDIR > tour.sh
#       the ```console blocks of "## A quick tour": every "$ " line is a
#       command, run in one bash; the lines after it (up to the next "$ ")
#       are its expected output. A command ending in & is run with its
#       output to a file and its pid noted in TMPDIR/pids; every other
#       command is preceded by a marker line "@@@ N" on stdout and stderr.
#   readme_tour.py compare README.md OUTPUT
#       compares OUTPUT (stdout and stderr of tour.sh, together) command by
#       command; whitespace runs count as one space and numbers of 3 or
#       more digits (pids) as N. Prints one ok/FAIL line per command and
#       "N passed, N failed"; exit status 1 on a difference.
import re
import sys


def tour(readme):
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"^## A quick tour\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        sys.exit("readme_tour: no '## A quick tour' section")
    steps = []  # (command, [expected lines])
    for block in re.findall(r"```console\n(.*?)```", m.group(1), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
    return steps


def script(readme, tmp):
    print("# generated from %s by readme_tour.py" % readme)
    for i, (cmd, _) in enumerate(tour(readme)):
        bare = re.split(r"\s+#", cmd, maxsplit=1)[0].rstrip()
        if bare.endswith("&"):
            print("%s >%s/bg%d.log 2>&1 &" % (bare[:-1].rstrip(), tmp, i))
            print("echo $! >>%s/pids" % tmp)
        else:
            # Keep $? of the previous command for "echo $?".
            print("__rc=$?; echo '@@@ %d'; echo '@@@ %d' >&2; (exit $__rc)"
                  % (i, i))
            print(cmd)


def norm(line):
    line = re.sub(r"\b\d{3,}\b", "N", line)
    return re.sub(r"\s+", " ", line).strip()


def compare(readme, output):
    got = {}
    cur = None
    for line in open(output, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^@@@ (\d+)$", line)
        if m:
            cur = int(m.group(1))
            got.setdefault(cur, [])
        elif cur is not None:
            got[cur].append(line)
    passed = failed = 0
    for i, (cmd, want) in enumerate(tour(readme)):
        if re.split(r"\s+#", cmd, maxsplit=1)[0].rstrip().endswith("&"):
            continue
        w = [norm(x) for x in want if x.strip()]
        g = [norm(x) for x in got.get(i, []) if x.strip()]
        if w == g:
            passed += 1
            print("ok   $ %s" % cmd)
        else:
            failed += 1
            print("FAIL $ %s\n  want: %s\n  got:  %s" % (cmd, w, g))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "script":
        script(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: readme_tour.py script README TMP | compare README OUT")
