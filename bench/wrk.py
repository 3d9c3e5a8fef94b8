"""One wrk measurement (bench/rotate.lua rotates the requests) and the server's CPU meanwhile."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.figures import Figures
from bench.scenarios import Scenario
from bench.server import ROOT, Server


def run_wrk(
    server: Server,
    requests_file: Path,
    *,
    seconds: int,
    connections: int,
    threads: int,
    close: bool,
) -> tuple[dict[str, Any], float]:
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_CONNECTION_CLOSE": str(int(close)),
    }
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(ROOT / "bench" / "rotate.lua"), f"http://127.0.0.1:{server.port}",
    ]  # fmt: skip
    cpu_before = server.cpu_seconds()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    cpu = server.cpu_seconds() - cpu_before
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    return json.loads(line.removeprefix("BENCH_JSON ")), cpu


def measure(
    server: Server,
    scenario: Scenario,
    requests_file: Path,
    args: argparse.Namespace,
    rows: int,
    round_: int,
    pair: int,
) -> Figures:
    result, cpu = run_wrk(
        server, requests_file, seconds=args.seconds, connections=args.connections,
        threads=args.wrk_threads, close=args.no_keepalive,
    )  # fmt: skip
    count = max(result["requests"], 1)
    return Figures(
        scenario=scenario.name,
        rows=rows,
        round=round_,
        pair=pair,
        rps=count / (result["duration_us"] / 1e6),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        cpu_ms_per_request=cpu * 1000 / count,
        requests=result["requests"],
        non_2xx=result["non_2xx"],
        socket_errors=sum(
            result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
    )
