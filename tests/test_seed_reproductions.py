"""configs/seeds/: every config validates offline; the expected.yaml rows point at real configs and
points; benchmarks/reproduce.py --quick writes a well-formed document; missing downloads and
failing rows are reported as such."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import load_config
from perceptron_lab.data import imdb as imdb_module
from perceptron_lab.data.download import RemoteFiles, sha256_of
from perceptron_lab.data.imdb import IMDB, IMDB_FILE
from perceptron_lab.experiment.specs import network_summary, static_input_shape
from perceptron_lab.experiment.sweep import point_configs, sweep_points

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "configs" / "seeds"
SCRIPT = ROOT / "benchmarks" / "reproduce.py"
CONFIGS = sorted(p for p in SEEDS.glob("*/*.yaml") if p.name != "expected.yaml")
DOWNLOADED = {"mnist", "fashion_mnist", "cifar10", "imdb"}


@pytest.fixture(scope="module")
def reproduce():
    """benchmarks/reproduce.py as a module (it imports its neighbour seed_checks)."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        yield importlib.import_module("reproduce")
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_there_is_a_config_for_every_seed():
    assert {p.parent.name for p in CONFIGS} == {"000", "001", "002", "003", "004"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_seed_config_validates_offline(path, tmp_path, monkeypatch):
    """`lab validate` on every config (it reports the files a run would download instead of
    fetching them), every sweep point's config, and the network's shapes from the dataset's
    registered image shape where the data is not here."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PERCEPTRON_LAB_DATA", raising=False)
    result = CliRunner().invoke(app, ["validate", "-q", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: ok" in " ".join(result.output.split())
    config = load_config(path)
    if config.sweep is not None:
        point_configs(config, sweep_points(config, []))
    if config.dataset.name in DOWNLOADED:
        assert "a run would download" in result.output
        shape = static_input_shape(config)
        if shape is not None:
            network_summary(config, shape)
    assert not (tmp_path / "cache").exists()


def test_every_expected_row_builds_its_config(reproduce):
    plans = reproduce.load_plans(SEEDS)
    assert [plan.seed for _, plan in plans] == ["000", "001", "002", "003", "004"]
    rows = 0
    for seed_dir, plan in plans:
        for row in plan.rows:
            rows += 1
            if row.check is not None:
                assert row.check in reproduce.CHECKS
                continue
            for overrides in (row.budget, row.quick or {}):
                config = reproduce.row_config(seed_dir, row, overrides)
                assert config.sweep is None
    assert rows >= 40


def test_a_sweep_row_runs_the_chosen_point(reproduce):
    seed_dir = SEEDS / "000"
    plan = reproduce.load_plan(seed_dir / "expected.yaml")
    row = next(r for r in plan.rows if r.config == "ej2_kfold.yaml" and r.point == 0)
    config = reproduce.row_config(seed_dir, row, {"epochs": 3})
    assert config.activation == "identity" and config.epochs == 3 and config.kfolds == 5


def test_a_row_whose_data_is_not_here_says_what_it_needs(reproduce, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PERCEPTRON_LAB_DATA", raising=False)
    seed_dir = SEEDS / "000"
    plan = reproduce.load_plan(seed_dir / "expected.yaml")
    row = next(r for r in plan.rows if r.config == "ej4_mnist_deep.yaml")
    outcome = reproduce.run_row(seed_dir, row, {}, tmp_path / "results", None)
    assert (outcome.status, outcome.text) == ("needs", "needs mnist")
    assert not (tmp_path / "results").exists() and not (tmp_path / "cache").exists()


def write_seed(tmp_path, rows) -> Path:
    seeds = tmp_path / "seeds"
    (seeds / "900").mkdir(parents=True)
    xor = {
        "name": "xor",
        "dataset": {"name": "gates", "function": "xor"},
        "architecture": [2, 1],
        "activation": "step",
        "epochs": 5,
        "runs": 5,
        "test_size": 0,
    }
    (seeds / "900" / "xor.yaml").write_text(yaml.safe_dump(xor))
    plan = {"seed": "900", "title": "test seed", "source": "900.txt", "rows": rows}
    (seeds / "900" / "expected.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True))
    return seeds


def test_a_failing_row_is_reported_in_its_cell_and_counted(reproduce, tmp_path):
    base = {
        "experiment": "XOR",
        "config": "xor.yaml",
        "reported": "r",
        "where": "w",
        "note": "n",
        "quick": {"epochs": 2},
    }
    seeds = write_seed(
        tmp_path, [{**base, "lab": ["train.accuracy"]}, {**base, "lab": ["train.no_such_metric"]}]
    )
    out = tmp_path / "doc" / "reproductions.md"
    failed = reproduce.reproduce(out, quick=True, results_root=tmp_path / "results", seeds_dir=seeds)
    assert failed == 1
    rows = [line for line in out.read_text().splitlines() if line.startswith("| XOR")]
    assert "train accuracy 0.500 ± 0.000 (5 runs)" in rows[0]
    assert "FAILED: UserError: no final train.no_such_metric" in rows[1]


ROW = {"experiment": "XOR", "config": "xor.yaml", "reported": "r", "where": "w", "note": "n"}


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            [{k: v for k, v in ROW.items() if k != "note"}],
            r"expected.yaml:\d+: missing required key 'rows.0.note'",
        ),
        ([{**ROW, "check": "backprop_example"}], r"rows.0: give either config or check"),
        ([{**ROW, "config": None, "check": "no_such_check"}], r"rows.0.check: unknown check 'no_such_check'"),
        (
            [ROW, {**ROW, "figure": "c", "compare": {"rows": [1], "metric": "loss", "split": "train"}}],
            r"rows.1.compare.rows: give indices of earlier rows \(0 to 0\)",
        ),
    ],
)
def test_a_bad_expected_file_is_one_line_naming_it(reproduce, tmp_path, rows, message):
    seeds = write_seed(tmp_path, rows)
    with pytest.raises(reproduce.UserError, match=message):
        reproduce.load_plans(seeds)


def test_quick_run_writes_a_well_formed_document(tmp_path):
    out = tmp_path / "reproductions.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == "# Reproductions of the course seeds"
    assert any(line.startswith("- date: 20") for line in lines)
    assert any(line.startswith("- machine: ") and "CPUs" in line for line in lines)
    seeds = [line for line in lines if line.startswith("## Seed ")]
    assert [s.split()[2].rstrip(":") for s in seeds] == ["000", "001", "002", "003", "004"]
    header = (
        "| experiment (config) | the seed reports (where) | the lab: mean ± std | wall | setup differences |"
    )
    assert text.count(header) == len(seeds)
    rows = [line for line in lines if line.startswith("| ") and line != header]
    assert len(rows) >= 6
    for row in rows:
        cells = row.replace("\\|", "").split("|")[1:-1]
        assert len(cells) == 5 and all(cell.strip() for cell in cells), row
        assert "FAILED" not in row
        assert " ± " in cells[2] or "=" in cells[2], row  # a lab figure, or a worked example's values
    assert not (tmp_path / "reproductions").exists()  # --quick draws no figures


def test_the_full_run_links_report_figures_and_replaces_the_old_ones(reproduce, tmp_path):
    rows = [
        {**ROW, "lab": ["train.accuracy"], "figure": "curve_loss"},
        {
            **ROW,
            "experiment": "XOR again",
            "budget": {"optimizer.learning_rate": 0.5},
            "lab": ["train.loss"],
            "figure": "compare_train_loss",
            "compare": {"rows": [0], "metric": "loss", "split": "train"},
        },
    ]
    seeds = write_seed(tmp_path, rows)
    out = tmp_path / "doc" / "reproductions.md"
    stale = tmp_path / "doc" / "reproductions" / "old.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    assert reproduce.reproduce(out, quick=False, results_root=tmp_path / "results", seeds_dir=seeds) == 0
    figures = sorted(p.name for p in (tmp_path / "doc" / "reproductions").iterdir())
    assert figures == ["seed900-00-curve_loss.png", "seed900-01-compare_train_loss.png"]
    text = out.read_text()
    assert "[figure](reproductions/seed900-00-curve_loss.png)" in text
    assert "[figure](reproductions/seed900-01-compare_train_loss.png)" in text
    assert "Run here with optimizer.learning_rate=0.5." in text
    assert sorted(p.name for p in (tmp_path / "doc").iterdir()) == ["reproductions", "reproductions.md"]


def _downloaded_rows() -> list[tuple[str, int]]:
    """(seed, row index) of every row whose config reads a dataset that is downloaded."""
    found = []
    for expected in sorted(SEEDS.glob("*/expected.yaml")):
        for i, row in enumerate(yaml.safe_load(expected.read_text())["rows"]):
            if "config" in row:
                raw = load_config(expected.parent / row["config"])
                if raw.dataset.name in DOWNLOADED:
                    found.append((expected.parent.name, i))
    return found


@pytest.fixture(scope="module")
def stand_in_files(tmp_path_factory):
    """Small files in the real formats of MNIST, Fashion-MNIST, CIFAR-10 (random pixels) and IMDB
    (random reviews)."""
    spec = importlib.util.spec_from_file_location("data_files", ROOT / "tests" / "data" / "data_files.py")
    data_files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data_files)
    root = tmp_path_factory.mktemp("stand_in_data")
    for name in ("mnist", "fashion_mnist"):
        data_files.make_mnist_files(root / name, n_train=200, n_test=40)
    (root / "cifar10").mkdir()
    data_files.make_cifar_archive(root / "cifar10" / "cifar-10-python.tar.gz", per_batch=40)
    data_files.make_imdb_file(root / "imdb" / IMDB_FILE, n_train=200, n_test=40, vocabulary=6000)
    return root


@pytest.mark.parametrize("seed, index", _downloaded_rows(), ids=lambda v: str(v))
def test_rows_that_need_a_download_run_on_stand_in_files(
    reproduce, stand_in_files, tmp_path, monkeypatch, seed, index
):
    """So a machine with the real files gets the rows' figures, not a FAILED cell: each row runs
    one epoch of one run on small random files of the same format (no checksum, no download).
    imdb.npz is read only with the published checksum, so the stand-in's becomes the published one."""
    seed_dir = SEEDS / seed
    row = reproduce.load_plan(seed_dir / "expected.yaml").rows[index]
    config = reproduce.row_config(seed_dir, row, {})
    overrides: dict = {"epochs": 1, "runs": 1}
    stand_in_imdb = stand_in_files / "imdb" / IMDB_FILE
    published = RemoteFiles(IMDB.name, IMDB.base_url, {IMDB_FILE: sha256_of(stand_in_imdb)})
    monkeypatch.setattr(imdb_module, "IMDB", published)
    for key in ("dataset", "test_dataset"):
        spec = getattr(config, key)
        if spec is not None and spec.name in DOWNLOADED:
            folder = str(stand_in_files / spec.name)
            overrides |= {f"{key}.data_dir": folder, f"{key}.download": False}
            if spec.name != "imdb":
                overrides[f"{key}.sha256"] = {p.name: None for p in (stand_in_files / spec.name).iterdir()}
    outcome = reproduce.run_row(seed_dir, row, {**row.budget, **overrides}, tmp_path, None)
    assert outcome.status == "ok", outcome.text
