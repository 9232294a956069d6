"""Bench: the client's streaming export keeps memory flat from 100k to 1M contacts.

For each size, starts `syncd emulator --contacts N` as a subprocess, then a fresh Python process
that streams the whole gzip `allFields` export through `LiveVoxClient.export_contacts().iter_raw()`
(decompressing, never holding the body) and reports its peak RSS. Baseline in the same run: the
same fresh process importing the client and logging in without exporting — the ratio of peak RSS
(1M / 100k) is the figure, and should be ~1.

    .venv/bin/python bench/client_export.py --contacts 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _emulator import emulator_process

CHILD = r"""
import json, resource, sys, time
from syncd.livevox import ClientConfig, LiveVoxClient
base, export = sys.argv[1], sys.argv[2] == "1"
config = ClientConfig(base_url=base, access_token="demo-token", client_name="demo",
                      username="admin", password="admin", timeout=600)
rows = nbytes = 0
started = time.perf_counter()
with LiveVoxClient(config) as client:
    client.login()
    if export:
        with client.export_contacts() as stream:
            for chunk in stream.iter_raw():
                nbytes += len(chunk)
                rows += chunk.count(b"\n")
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "bytes": nbytes, "seconds": seconds, "peak_rss_mib": peak}))
"""


def _child(base: str, export: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, base, "1" if export else "0"],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bench(contacts: int) -> tuple[dict[str, float], dict[str, float]]:
    with emulator_process(contacts) as emulator:
        return _child(emulator.base_url, export=False), _child(emulator.base_url, export=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(
        f"{'contacts':>9} {'rows':>9} {'MB csv':>8} {'seconds':>8} {'rows/s':>8} "
        f"{'baseline RSS MiB':>17} {'export peak RSS MiB':>20}"
    )
    peaks = []
    for n in args.contacts:
        baseline, run = bench(n)
        peaks.append(run["peak_rss_mib"])
        print(
            f"{n:>9,} {run['rows']:>9,.0f} {run['bytes'] / 1e6:>8.1f} {run['seconds']:>8.1f} "
            f"{run['rows'] / run['seconds']:>8,.0f} {baseline['peak_rss_mib']:>17.0f} "
            f"{run['peak_rss_mib']:>20.0f}"
        )
    if len(peaks) > 1:
        print(f"peak RSS ratio largest/smallest: {peaks[-1] / peaks[0]:.2f}")


if __name__ == "__main__":
    main()
