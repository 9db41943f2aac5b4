"""End to end: each shipped offline config through `lab run`, timed phase by phase.

    python benchmarks/end_to_end.py [--repeat 1] [--configs ej3_digits iris ...]

Per config, in fresh interpreters, as a user runs it:
  - `lab run CONFIG --quiet` wall time (the whole command: start-up, imports, training, files,
    figures), and the same with --no-plots;
  - one instrumented run (the same `run_experiment` the command calls, after importing the
    command's module) split into phases by its progress events: import, load (data, splits),
    train, write (files) and plot (figures);
  - the ratio of the whole command to its training time, against the goal
    end to end <= 2 x training + 1 s (checked for ej3_digits).
Also `lab --help` (goal < 0.3 s). With --repeat N each number is the fastest of N runs.
With --baseline DIR (another checkout, e.g. `git archive <commit> src configs | tar -x -C DIR`)
the same commands run on DIR/src with DIR/configs first, for a before/after in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ["ej1_and_step", "ej3_digits", "iris", "optdigits", "ej2_linear_vs_nonlinear"]
LAB = [sys.executable, "-m", "perceptron_lab.cli"]

# Runs in a fresh interpreter: prints {"import": s, "load": s, "train": s, "write": s, "plot": s}.
PHASES_CHILD = """
import json, sys, time
started = time.perf_counter()
import perceptron_lab.cli  # what `lab` imports before it runs a command
from perceptron_lab.config import load_config
from perceptron_lab.experiment import run_experiment
marks = {"import": time.perf_counter()}
def listen(event):
    marks.setdefault(event.phase, time.perf_counter())
run_experiment(load_config(sys.argv[1]), out_root=sys.argv[2], progress=listen)
end = time.perf_counter()
order = ["import", "load", "train", "write", "plot"]
phases = {"import": marks["import"] - started}
for i, phase in enumerate(order[1:], start=1):
    if marks.get(phase) is None:
        phases[phase] = 0.0
        continue
    following = next((marks[p] for p in order[i + 1:] if marks.get(p) is not None), end)
    phases[phase] = following - marks[phase]
print(json.dumps(phases))
"""


def environment(root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(command: list[str], cwd: Path) -> float:
    return timed(command, cwd)[0]


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a command run with cwd/src first on the path."""
    cpu, started = children_cpu(), time.perf_counter()
    subprocess.run(command, cwd=cwd, env=environment(cwd), check=True, capture_output=True)
    return time.perf_counter() - started, children_cpu() - cpu


def measure_baseline(root: Path, config: str, out: Path, repeat: int) -> tuple[float, float, float]:
    """(lab run wall, its CPU, training seconds) of `config` on the checkout at `root`."""
    runs = []
    for _ in range(repeat):
        path = root / "configs" / f"{config}.yaml"
        run_wall, run_cpu = timed([*LAB, "run", str(path), "-q", "--out", str(out)], root)
        runs.append((run_wall, run_cpu, newest_manifest(out, config)["train_time_s"]))
    return min(runs)


def newest_manifest(out: Path, name: str) -> dict:
    runs = sorted((out / name).iterdir(), key=lambda p: p.stat().st_mtime)
    return json.loads((runs[-1] / "manifest.json").read_text())


def measure(config: str, out: Path, repeat: int) -> dict:
    path = ROOT / "configs" / f"{config}.yaml"
    best: dict[str, float] = {}
    for _ in range(repeat):
        run_wall, run_cpu = timed([*LAB, "run", str(path), "--quiet", "--out", str(out)], ROOT)
        row = {
            "lab run": run_wall,
            "cpu": run_cpu,
            "train_s": newest_manifest(out, config)["train_time_s"],
            "no plots": wall([*LAB, "run", str(path), "--quiet", "--no-plots", "--out", str(out)], ROOT),
        }
        child = subprocess.run(
            [sys.executable, "-c", PHASES_CHILD, str(path), str(out)],
            cwd=ROOT,
            env=environment(),
            check=True,
            capture_output=True,
            text=True,
        )
        row.update(json.loads(child.stdout.strip().splitlines()[-1]))
        best = {k: min(v, best.get(k, v)) for k, v in row.items()}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of everything; the fastest counts")
    parser.add_argument("--configs", nargs="+", default=CONFIGS, help="config names under configs/")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (with src/ and configs/) to time first"
    )
    args = parser.parse_args()

    print(f"load average at start: {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    help_s = min(wall([*LAB, "--help"], ROOT) for _ in range(max(3, args.repeat)))
    print(f"lab --help: {help_s:.3f} s (goal < 0.3 s: {'met' if help_s < 0.3 else 'NOT met'})")
    if args.baseline:
        base_help = min(wall([*LAB, "--help"], args.baseline) for _ in range(max(3, args.repeat)))
        print(f"baseline {args.baseline}: lab --help {base_help:.3f} s")
        with tempfile.TemporaryDirectory() as tmp:
            for config in args.configs:
                run_wall, run_cpu, train = measure_baseline(args.baseline, config, Path(tmp), args.repeat)
                print(
                    f"  baseline {config:<24} lab run {run_wall:6.2f} s wall, {run_cpu:6.2f} s CPU, "
                    f"train {train:5.2f} s: {run_wall / train:6.1f}x"
                )
    header = (
        f"{'config':<24} {'lab run':>8} {'CPU':>6} {'no plots':>8} {'train':>6} | {'import':>6} {'load':>6} "
        f"{'train':>6} {'write':>6} {'plot':>6} | {'run/train':>9} {'goal':>6}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            r = measure(config, Path(tmp), args.repeat)
            goal = 2 * r["train_s"] + 1
            verdict = ("met" if r["lab run"] <= goal else "NOT") if config == "ej3_digits" else ""
            print(
                f"{config:<24} {r['lab run']:8.2f} {r['cpu']:6.2f} {r['no plots']:8.2f} {r['train_s']:6.2f} | "
                f"{r['import']:6.2f} {r['load']:6.2f} {r['train']:6.2f} {r['write']:6.2f} {r['plot']:6.2f} | "
                f"{r['lab run'] / r['train_s']:8.1f}x {verdict:>6}"
            )
    print(
        "lab run, no plots: wall seconds of the whole command (CPU: its CPU seconds); "
        "train: the manifest's training time; "
        "import..plot: one instrumented run; goal (ej3_digits): lab run <= 2 x train + 1 s"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
