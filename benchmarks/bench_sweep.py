"""Sweep parallelism: the same 12-point sweep with --jobs 1 and --jobs N, timed end to end.

    python benchmarks/bench_sweep.py [--jobs 2] [--epochs 5000] [--repeat 1]

Each point trains the 35-20-10 sigmoid network on the 5x7 digits (3 runs stacked). Both sweeps
include everything `lab sweep` does (worker start-up, training, writing every point directory and
sweep.csv); the script checks that they wrote the same numbers and prints the speed-up ratio.
With --repeat N each sweep runs N times and the fastest counts (each parallel sweep starts its
worker processes afresh).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from joblib import cpu_count
from joblib.externals.loky import get_reusable_executor

from perceptron_lab.config import build_config
from perceptron_lab.experiment.sweep import run_sweep, sweep_points

GRID = ["learning_rate=0.05,0.1,0.2,0.4", "batch_size=1,4,8"]  # 12 points


def make_config(epochs: int):
    return build_config(
        {
            "name": "bench_sweep",
            "dataset": {"name": "digits5x7", "target": "digit"},
            "architecture": [35, 20, 10],
            "activation": "sigmoid",
            "optimizer": "sgd",
            "epochs": epochs,
            "runs": 3,
            "test_size": 0,
            "output": {"plots": False, "save_models": False},
        }
    )


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (user + system)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_sweep(config, points, root: Path, jobs: int) -> tuple[float, float, pd.DataFrame]:
    """(wall seconds, CPU seconds including the worker processes, sweep.csv without timings)."""
    get_reusable_executor().shutdown(wait=True)  # no warm workers from an earlier sweep
    cpu, started = cpu_seconds(), time.perf_counter()
    sweep_dir = run_sweep(config, points, out_root=root, jobs=jobs)
    elapsed = time.perf_counter() - started
    get_reusable_executor().shutdown(wait=True)  # so the workers' CPU time is counted
    return elapsed, cpu_seconds() - cpu, pd.read_csv(sweep_dir / "sweep.csv").drop(columns=["wall_time_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs to compare with --jobs 1")
    parser.add_argument("--epochs", type=int, default=5000, help="epochs per point")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each sweep; the fastest counts")
    args = parser.parse_args()
    if args.jobs < 2:
        parser.error("--jobs must be at least 2")

    load = os.getloadavg()[0]
    config = make_config(args.epochs)
    points = sweep_points(config, GRID)
    timings: dict[int, list[tuple[float, float]]] = {1: [], args.jobs: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            tables = {}
            for jobs in timings:
                wall, cpu, tables[jobs] = timed_sweep(config, points, Path(tmp), jobs)
                timings[jobs].append((wall, cpu))
            pd.testing.assert_frame_equal(tables[args.jobs], tables[1])
    best = {jobs: min(runs) for jobs, runs in timings.items()}
    print(
        f"{len(points)}-point sweep, {args.epochs} epochs per point, {cpu_count()} cores (load average {load:.2f} at start)"
    )
    for jobs, (wall, cpu) in best.items():
        print(f"--jobs {jobs}: {wall:7.2f} s wall, {cpu:7.2f} s CPU (workers included)")
    ratio = best[1][0] / best[args.jobs][0]
    print(f"speed-up (jobs 1 / jobs {args.jobs}): {ratio:.2f}x  (same sweep.csv numbers: yes)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
