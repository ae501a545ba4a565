#!/usr/bin/python3
# tests/integration/promcheck.py - fetch a /metrics page and parse it with
# the Prometheus project's own Python client (Debian's
# python3-prometheus-client), for tests/integration/test_observe.c.
# SPDX-License-Identifier: MIT
#
#   promcheck.py URL
#
# Prints one line per sample, "name{k="v",...} value" with the labels
# sorted, and exits 0; exits 1 (with the reason on stderr) if the page
# cannot be fetched, is not the text format (the parser raises), a
# sample's family has no TYPE, or a histogram's buckets are not
# cumulative or do not end in +Inf equal to its _count.
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    url = sys.argv[1]
    with urllib.request.urlopen(url, timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode("utf-8")
    if not ctype.startswith("text/plain"):
        print("promcheck: Content-Type is %r" % ctype, file=sys.stderr)
        return 1
    out = []
    for fam in text_string_to_metric_families(text):
        if fam.type == "unknown":
            print("promcheck: family %s has no TYPE" % fam.name, file=sys.stderr)
            return 1
        if fam.type == "histogram":
            series = {}
            for s in fam.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items()
                                   if k != "le"))
                series.setdefault(key, {"b": [], "count": None})
                if s.name.endswith("_bucket"):
                    series[key]["b"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_count"):
                    series[key]["count"] = s.value
            for key, h in series.items():
                b = sorted(h["b"])
                if not b or b[-1][0] != float("inf"):
                    print("promcheck: %s%s has no +Inf bucket" % (fam.name, key),
                          file=sys.stderr)
                    return 1
                if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                    print("promcheck: %s%s buckets not cumulative" %
                          (fam.name, key), file=sys.stderr)
                    return 1
                if h["count"] != b[-1][1]:
                    print("promcheck: %s%s _count != +Inf bucket" %
                          (fam.name, key), file=sys.stderr)
                    return 1
        for s in fam.samples:
            labels = ",".join('%s="%s"' % (k, v)
                              for k, v in sorted(s.labels.items()))
            out.append("%s{%s} %g" % (s.name, labels, s.value))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
