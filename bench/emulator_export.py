"""Bench: a full `allFields` gzip export from `syncd emulator --contacts N`.

Starts the emulator as a real subprocess (as users run it), logs in, downloads the whole export
with `Accept-Encoding: gzip`, and prints rows/s, wire MB/s and the server's peak RSS (VmHWM).
Baseline in the same run: the same gzip bytes served by a trivial static HTTP server and
downloaded by the same client code, i.e. the transport floor; the ratio is the figure.

    .venv/bin/python bench/emulator_export.py --contacts 100000 1000000
"""

from __future__ import annotations

import argparse
import http.server
import os
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import httpx
from _emulator import emulator_process

LOGIN = {"clientName": "demo", "userName": "admin", "password": "admin", "agent": False}


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _download(
    url: str, *, method: str, headers: dict[str, str], json: object, sink: Path
) -> tuple[int, int, float]:
    """Stream a gzip body to `sink`; return (rows, wire bytes, seconds). Rows = data lines."""
    started = time.perf_counter()
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    newlines = 0
    wire = 0
    with (
        httpx.Client(timeout=None) as client,
        sink.open("wb") as out,
        client.stream(method, url, headers=headers, json=json) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_raw():
            wire += len(chunk)
            out.write(chunk)
            newlines += inflate.decompress(chunk).count(b"\n")
    if not inflate.eof:
        raise RuntimeError("gzip stream incomplete")
    return newlines - 1, wire, time.perf_counter() - started


def _static_baseline(path: Path) -> float:
    body = path.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with tempfile.TemporaryDirectory() as tmp:
            _, _, seconds = _download(
                url, method="GET", headers={}, json=None, sink=Path(tmp) / "b"
            )
        return seconds
    finally:
        server.shutdown()


def bench(contacts: int) -> dict[str, float]:
    with emulator_process(contacts) as emulator:
        base = emulator.base_url
        session = httpx.post(
            f"{base}/session/login", json=LOGIN, headers={"LV-Access": "demo-token"}
        ).json()["sessionId"]
        headers = {"LV-Session": session, "Accept-Encoding": "gzip"}
        body = {"exportableFields": ["allFields"]}
        with tempfile.TemporaryDirectory() as tmp:
            sink = Path(tmp) / "export.csv.gz"
            rows, wire, seconds = _download(
                f"{base}/contact/contacts/bulk",
                method="POST",
                headers=headers,
                json=body,
                sink=sink,
            )
            baseline = _static_baseline(sink)
        rss = _peak_rss_mib(emulator.pid)
    if rows != contacts:
        raise RuntimeError(f"exported {rows} rows, expected {contacts}")
    return {
        "contacts": contacts,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "wire_mb_per_s": wire / seconds / 1e6,
        "wire_mb": wire / 1e6,
        "baseline_s": baseline,
        "ratio": baseline / seconds,
        "server_peak_rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}")
    print(
        f"{'contacts':>9} {'seconds':>8} {'rows/s':>9} {'wire MB':>8} {'MB/s':>6} "
        f"{'static s':>8} {'ratio':>6} {'server peak RSS MiB':>20}"
    )
    for n in args.contacts:
        r = bench(n)
        print(
            f"{r['contacts']:>9,.0f} {r['seconds']:>8.1f} {r['rows_per_s']:>9,.0f} "
            f"{r['wire_mb']:>8.1f} "
            f"{r['wire_mb_per_s']:>6.1f} {r['baseline_s']:>8.2f} {r['ratio']:>6.3f} "
            f"{r['server_peak_rss_mib']:>20.0f}"
        )


if __name__ == "__main__":
    main()
