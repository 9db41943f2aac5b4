"""Sweep parallelism: the same sweeps with --jobs 1 and --jobs N, timed end to end.

    python benchmarks/bench_sweep.py [--jobs 2] [--epochs 5000] [--repeat 1] [--sweeps digits iris]

digits: 12 points, each training the 35-20-10 sigmoid network on the 5x7 digits (3 runs
stacked), no figures. iris: the README's sweep, configs/iris.yaml over learning_rate 0.001, 0.01,
0.1 x batch_size 1, 16 (6 points of 5 runs x 5 folds), with the figures `lab sweep` draws by
default (--plots best). Both timings include everything `lab sweep` does (worker start-up,
training, writing every point directory and sweep.csv, figures); the script checks that they
wrote the same numbers and prints the speed-up ratio. With --repeat N each sweep runs N times
and the fastest counts (each parallel sweep starts its worker processes afresh). With --joblib
the parallel sweep also runs on joblib's loky workers (fresh interpreters that import everything)
instead of workers forked from the driver, for comparison.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from unittest import mock

import pandas as pd
from joblib import cpu_count
from joblib.externals.loky import get_reusable_executor

from perceptron_lab.config import build_config, load_config
from perceptron_lab.experiment import sweep as sweep_module
from perceptron_lab.experiment.executors import JoblibExecutor
from perceptron_lab.experiment.sweep import run_sweep, sweep_points

GRID = ["learning_rate=0.05,0.1,0.2,0.4", "batch_size=1,4,8"]  # 12 points
IRIS_GRID = ["optimizer.learning_rate=0.001,0.01,0.1", "batch_size=1,16"]  # the README's 6 points
ROOT = Path(__file__).resolve().parent.parent


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


def timed_sweep(
    config, points, root: Path, jobs: int, joblib: bool = False
) -> tuple[float, float, pd.DataFrame]:
    """(wall seconds, CPU seconds including the worker processes, sweep.csv without timings)."""
    get_reusable_executor().shutdown(wait=True)  # no warm workers from an earlier sweep
    cpu, started = cpu_seconds(), time.perf_counter()
    if joblib:
        with mock.patch.object(sweep_module, "make_executor", lambda *args: JoblibExecutor(jobs)):
            sweep_dir = run_sweep(config, points, out_root=root, jobs=jobs, plots=None)
    else:
        sweep_dir = run_sweep(config, points, out_root=root, jobs=jobs, plots=None)
    elapsed = time.perf_counter() - started
    get_reusable_executor().shutdown(wait=True)  # so the workers' CPU time is counted
    return elapsed, cpu_seconds() - cpu, pd.read_csv(sweep_dir / "sweep.csv").drop(columns=["wall_time_s"])


def compare(name: str, config, points, jobs: int, repeat: int, note: str, joblib: bool) -> None:
    """Time the sweep with --jobs 1 and --jobs `jobs` (and on joblib's workers), check equal
    sweep.csv numbers, print."""
    modes = [(1, False), (jobs, False), *([(jobs, True)] if joblib else [])]
    timings: dict[tuple[int, bool], list[tuple[float, float]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            tables = {}
            for mode in modes:
                wall, cpu, tables[mode] = timed_sweep(config, points, Path(tmp), *mode)
                timings[mode].append((wall, cpu))
            for mode in modes[1:]:
                pd.testing.assert_frame_equal(tables[mode], tables[modes[0]])
    best = {mode: min(runs) for mode, runs in timings.items()}
    print(f"{name}: {len(points)}-point sweep, {note}")
    for (n, on_joblib), (wall, cpu) in best.items():
        where = ", joblib workers" if on_joblib else ""
        print(f"  --jobs {n}{where}: {wall:7.2f} s wall, {cpu:7.2f} s CPU (workers included)")
    for mode in modes[1:]:
        label = f"jobs {mode[0]}" + (" on joblib" if mode[1] else "")
        print(f"  speed-up (jobs 1 / {label}): {best[modes[0]][0] / best[mode][0]:.2f}x")
    print("  same sweep.csv numbers: yes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs to compare with --jobs 1")
    parser.add_argument("--epochs", type=int, default=5000, help="epochs per point of the digits sweep")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each sweep; the fastest counts")
    parser.add_argument("--sweeps", nargs="+", default=["digits", "iris"], choices=["digits", "iris"])
    parser.add_argument("--joblib", action="store_true", help="also time --jobs N on joblib's workers")
    args = parser.parse_args()
    if args.jobs < 2:
        parser.error("--jobs must be at least 2")

    print(f"{cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    if "digits" in args.sweeps:
        config = make_config(args.epochs)
        note = f"{args.epochs} epochs per point, no figures"
        compare("digits", config, sweep_points(config, GRID), args.jobs, args.repeat, note, args.joblib)
    if "iris" in args.sweeps:
        config = load_config(ROOT / "configs" / "iris.yaml")
        note = "configs/iris.yaml, figures as lab sweep draws them (best point and sweep figure)"
        compare("iris", config, sweep_points(config, IRIS_GRID), args.jobs, args.repeat, note, args.joblib)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
