"""From wrk's measurements to the table: medians over rounds, ratios to the floor, the machine."""

import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import FLOOR


@dataclass
class Figures:
    scenario: str
    rows: int
    round: int
    pair: int  # a scenario and the floor measured just before it share a round and a pair
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    requests: int
    non_2xx: int
    socket_errors: int


def summarise(figures: list[Figures]) -> list[dict[str, Any]]:
    """Median over rounds per (scenario, rows); each ratio to the floor measured just before."""
    floors = {(f.rows, f.round, f.pair): f for f in figures if f.scenario == FLOOR.name}
    groups: dict[tuple[str, int], list[Figures]] = {}
    for f in figures:
        groups.setdefault((f.scenario, f.rows), []).append(f)
    table = []
    for (name, rows), runs in groups.items():
        table.append(
            {
                "scenario": name,
                "rows": rows,
                "rounds": len(runs),
                "rps": statistics.median(r.rps for r in runs),
                "p50_ms": statistics.median(r.p50_ms for r in runs),
                "p99_ms": statistics.median(r.p99_ms for r in runs),
                "cpu_ms_per_request": statistics.median(r.cpu_ms_per_request for r in runs),
                "non_2xx": sum(r.non_2xx for r in runs),
                "socket_errors": sum(r.socket_errors for r in runs),
                "ratio_to_floor": statistics.median(
                    r.rps / floors[rows, r.round, r.pair].rps for r in runs
                ),
                # the same ratio from server CPU per request: less sensitive to a busy machine
                "cpu_ratio_to_floor": statistics.median(
                    floors[rows, r.round, r.pair].cpu_ms_per_request / r.cpu_ms_per_request
                    for r in runs
                ),
            }
        )
    return table


def print_table(table: list[dict[str, Any]]) -> None:
    head = (
        f"{'scenario':<10} {'rows':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU ms/req':>10} {'non-2xx':>7} {'÷ floor':>7} {'CPU ÷':>6}"
    )
    print(head)
    print("-" * len(head))
    for row in table:
        print(
            f"{row['scenario']:<10} {row['rows']:>9,} {row['rps']:>8.0f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['cpu_ms_per_request']:>10.2f} "
            f"{row['non_2xx'] + row['socket_errors']:>7} {row['ratio_to_floor']:>7.2f} "
            f"{row['cpu_ratio_to_floor']:>6.2f}"
        )


def machine() -> dict[str, Any]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    model = names[0] if names else platform.processor()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
    }
