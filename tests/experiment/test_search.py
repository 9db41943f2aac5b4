"""Optuna search sweeps: space checks, TPE against random, resuming a study, pruning, the CLI."""

import copy
import os

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import build_config
from perceptron_lab.errors import ConfigError, UserError
from perceptron_lab.experiment import is_run_dir

optuna = pytest.importorskip("optuna", reason="the optuna extra is not installed: pip install -e '.[optuna]'")

from perceptron_lab.experiment.search import (  # noqa: E402
    STUDY_FILE,
    parse_space,
    resolve_objective,
    run_search,
)

IRIS = {
    "name": "iris_search",
    "seed": 3,
    "dataset": "iris",
    "architecture": [4, 8, 3],
    "activation": "tanh",
    "output_activation": "softmax",
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "epochs": 20,
    "batch_size": 16,
    "runs": 2,
    "test_size": 0.3,
    "preprocessing": {"inputs": "standard"},
    "eval_every": 2,
    "output": {"plots": False, "save_models": False},
    "sweep": {
        "space": {
            "optimizer.learning_rate": {"log_uniform": [1.0e-5, 0.3]},
            "architecture": [[4, 2, 3], [4, 16, 3]],
            "batch_size": [4, 64],
        },
        "objective": {"metric": "accuracy", "split": "test"},
    },
}
VARYING = ["wall_time_s"]


def config_with(**changes):
    raw = copy.deepcopy(IRIS)
    for key, value in changes.items():
        raw[key] = value
    return build_config(raw)


def space_config(space):
    return config_with(sweep={"space": space})


def numbers(sweep_dir) -> pd.DataFrame:
    return pd.read_csv(sweep_dir / "sweep.csv").drop(columns=VARYING)


def load_study(sweep_dir, name="iris_search"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{sweep_dir / STUDY_FILE}")


# ---------------------------------------------------------------------------------------------
# The space


def test_parse_space_reads_ranges_and_choices():
    dims = {d.key: d for d in parse_space(config_with())}
    assert dims["optimizer.learning_rate"].kind == "log_uniform"
    assert (dims["optimizer.learning_rate"].low, dims["optimizer.learning_rate"].high) == (1.0e-5, 0.3)
    assert dims["architecture"].choices == ([4, 2, 3], [4, 16, 3])
    assert dims["architecture"].labels() == ["[4, 2, 3]", "[4, 16, 3]"]
    assert dims["batch_size"].labels() == [4, 64]
    # shorthand keys resolve to their canonical path
    assert [d.key for d in parse_space(space_config({"learning_rate": {"uniform": [0.1, 0.2]}}))] == [
        "optimizer.learning_rate"
    ]


@pytest.mark.parametrize(
    "space, message",
    [
        ({"batch_size": []}, r"sweep\.space\.batch_size: the list of choices is empty"),
        (
            {"learning_rate": {"uniform": [0.5, 0.5]}},
            r"sweep\.space\.learning_rate: low 0.5 must be < high 0.5",
        ),
        (
            {"learning_rate": {"log_uniform": [0, 0.1]}},
            r"sweep\.space\.learning_rate: log_uniform needs low > 0",
        ),
        (
            {"learning_rate": {"normal": [0, 1]}},
            r"sweep\.space\.learning_rate: unknown distribution 'normal'",
        ),
        ({"epochs": {"int": [1.5, 9]}}, r"sweep\.space\.epochs: int takes integer bounds"),
        ({"learning_rate": {"uniform": [0.1]}}, r"sweep\.space\.learning_rate: uniform takes \[low, high\]"),
        ({"optimizer.lerning_rate": [0.1, 0.2]}, r"unknown key 'optimizer\.lerning_rate'"),
        ({"batch_size": [0, 4]}, r"sweep\.space\.batch_size.*batch_size"),
        ({"batch_size": [4, 4]}, r"choice 4 is listed twice"),
        ({"sweep.grid": [{}]}, r"cannot vary its own sweep settings"),
    ],
)
def test_a_bad_space_is_one_config_error_naming_the_key(space, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse_space(space_config(space))
    assert "\n" not in str(error.value)


def test_a_bad_space_exits_2_from_the_cli(tmp_path):
    raw = {**IRIS, "sweep": {"space": {"learning_rate": {"log_uniform": [-1, 1]}}}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["sweep", str(path), "--search", "tpe", "--trials", "2"])
    assert result.exit_code == 2
    assert "sweep.space.learning_rate" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


def test_the_objective_direction_defaults_from_the_metric():
    assert resolve_objective(config_with()).direction == "maximize"
    loss = config_with(sweep={"space": IRIS["sweep"]["space"], "objective": {"metric": "loss"}})
    assert (resolve_objective(loss).direction, resolve_objective(loss).split) == ("minimize", "test")
    with pytest.raises(ConfigError, match="sweep.objective.split: 'validation' is not recorded"):
        resolve_objective(config_with(sweep={"space": {}, "objective": {"split": "validation"}}))
    with pytest.raises(ConfigError, match="sweep.objective.metric"):
        resolve_objective(config_with(sweep={"space": {}, "objective": {"metric": "acuracy"}}))


# ---------------------------------------------------------------------------------------------
# Searching


@pytest.fixture(scope="module")
def random_and_tpe(tmp_path_factory):
    config = config_with()
    root = tmp_path_factory.mktemp("search")
    return (
        run_search(config, sampler="random", trials=8, out_root=root / "random"),
        run_search(config, sampler="tpe", trials=8, out_root=root / "tpe"),
    )


def test_tpe_beats_or_equals_the_median_random_point(random_and_tpe):
    random_dir, tpe_dir = random_and_tpe
    random_scores = pd.read_csv(random_dir / "sweep.csv")["test_accuracy_mean"]
    tpe_scores = pd.read_csv(tpe_dir / "sweep.csv")["test_accuracy_mean"]
    assert len(random_scores) == len(tpe_scores) == 8
    assert tpe_scores.max() >= random_scores.median()


def test_each_trial_is_an_ordinary_point_and_the_study_holds_its_objective(random_and_tpe):
    _, tpe_dir = random_and_tpe
    table = pd.read_csv(tpe_dir / "sweep.csv")
    assert set(table["status"]) <= {"ok", "diverged"}
    assert list(table.columns[:4]) == ["point", "optimizer.learning_rate", "architecture", "batch_size"]
    study = load_study(tpe_dir)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    for trial, (_, row) in zip(study.trials, table.iterrows()):
        assert is_run_dir(tpe_dir / row["point"])
        assert row["point"].startswith(f"trial-{trial.number:04d}__")
        assert trial.value == pytest.approx(row["test_accuracy_mean"])
        assert trial.params["optimizer.learning_rate"] == row["optimizer.learning_rate"]
        summary = pd.read_csv(tpe_dir / row["point"] / "summary.csv")
        final_test = summary[
            (summary["kind"] == "final") & (summary["run"] == "mean") & (summary["split"] == "test")
        ]
        assert final_test["accuracy"].iloc[0] == pytest.approx(trial.value)


def test_the_same_seed_gives_the_same_trials(random_and_tpe, tmp_path):
    random_dir, _ = random_and_tpe
    again = run_search(config_with(), sampler="random", trials=8, out_root=tmp_path)
    pd.testing.assert_frame_equal(numbers(again), numbers(random_dir))


class StopAfter:
    """A progress callback that interrupts the search once `n` trials are recorded."""

    def __init__(self, n):
        self.n = n

    def __call__(self, event):
        if event.phase == "points" and event.done >= self.n:
            raise KeyboardInterrupt


def test_an_interrupted_study_resumes_and_draws_what_an_uninterrupted_one_would(tmp_path):
    from perceptron_lab.experiment.sweep import SweepInterrupted

    config = config_with()
    whole = run_search(config, sampler="tpe", trials=6, out_root=tmp_path / "whole")
    with pytest.raises(SweepInterrupted) as stop:
        run_search(config, sampler="tpe", trials=6, out_root=tmp_path / "cut", progress=StopAfter(5))
    sweep_dir = stop.value.sweep_dir
    assert len(pd.read_csv(sweep_dir / "sweep.csv")) == 5
    first = sorted(p for p in sweep_dir.iterdir() if p.name.startswith("trial-"))[0]
    stamp = os.stat(first / "manifest.json").st_mtime_ns

    # A trial cut off mid-run: still RUNNING in the study, with a half-written directory.
    study = load_study(sweep_dir)
    stale = study.ask()
    stale.set_user_attr("point", "trial-0099__stale")
    (sweep_dir / ".trial-0099__stale.partial").mkdir()

    resumed = run_search(config, sampler="tpe", trials=6, resume=sweep_dir)
    assert resumed == sweep_dir
    pd.testing.assert_frame_equal(
        numbers(resumed).drop(columns="point"), numbers(whole).drop(columns="point")
    )
    assert os.stat(first / "manifest.json").st_mtime_ns == stamp  # kept, not retrained
    assert not (sweep_dir / ".trial-0099__stale.partial").exists()
    states = [t.state for t in load_study(sweep_dir).trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 6
    assert states.count(optuna.trial.TrialState.FAIL) == 1  # the interrupted one, not counted

    with pytest.raises(UserError, match="another space"):
        other = config_with(sweep={"space": {"batch_size": [4, 8]}, "objective": IRIS["sweep"]["objective"]})
        run_search(other, sampler="tpe", trials=6, resume=sweep_dir)


def test_pruned_trials_are_recorded(tmp_path):
    # Rates down to 1e-7 barely move in 40 epochs: the median pruner stops such trials.
    config = config_with(
        epochs=40,
        eval_every=1,
        sweep={
            "space": {"optimizer.learning_rate": {"log_uniform": [1.0e-7, 0.1]}},
            "objective": {"metric": "loss", "split": "test"},
        },
    )
    sweep_dir = run_search(config, sampler="random", trials=10, pruner="median", out_root=tmp_path)
    table = pd.read_csv(sweep_dir / "sweep.csv", keep_default_na=False, na_values=[""])
    pruned = table[table["status"] == "pruned"]
    assert len(pruned) >= 1 and len(table) == 10
    assert pruned["error"].str.match(r"pruned after epoch \d+").all()
    assert pruned["test_loss_mean"].isna().all()
    assert not any((sweep_dir / name).exists() for name in pruned["point"])
    trials = load_study(sweep_dir).trials
    states = {t.user_attrs["point"]: t.state for t in trials}
    assert {states[name] for name in pruned["point"]} == {optuna.trial.TrialState.PRUNED}
    for trial in trials:
        if trial.state == optuna.trial.TrialState.PRUNED:
            stopped = int(table.set_index("point").loc[trial.user_attrs["point"], "error"].split()[-1])
            assert max(trial.intermediate_values) == stopped
    # The report reads a search directory like a grid's.
    result = CliRunner().invoke(app, ["report", str(sweep_dir), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output


def test_dask_with_a_pruner_is_refused_in_one_line():
    with pytest.raises(UserError, match="^pruner needs backend local: "):
        run_search(config_with(), trials=2, pruner="median", backend="dask", address="tcp://localhost:1")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--search", "tpe"], "--search tpe needs --trials N"),
        (["--search", "tpe", "--trials", "2", "--grid", "batch_size=1,2"], "--grid is for --search grid"),
        (["--trials", "2"], "--trials and --pruner are for --search random or tpe"),
        (["--search", "bayes"], "'grid', 'random', 'tpe'"),
    ],
)
def test_cli_search_options_are_checked(tmp_path, args, message):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(IRIS))
    result = CliRunner().invoke(app, ["sweep", str(path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_search_runs_and_dry_run_lists_the_space(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({**IRIS, "epochs": 4}))
    dry = CliRunner().invoke(app, ["sweep", str(path), "--search", "random", "--trials", "2", "--dry-run"])
    assert dry.exit_code == 0 and "optimizer.learning_rate: log_uniform" in dry.output
    result = CliRunner().invoke(
        app, ["sweep", str(path), "--search", "random", "--trials", "2", "--out", str(tmp_path / "r"), "-q"]
    )
    assert result.exit_code == 0, result.output
    (sweep_dir,) = (tmp_path / "r" / "iris_search").iterdir()
    assert len(pd.read_csv(sweep_dir / "sweep.csv")) == 2 and (sweep_dir / STUDY_FILE).is_file()


def test_parallel_jobs_draw_and_score_the_same_random_trials(random_and_tpe, tmp_path):
    random_dir, _ = random_and_tpe
    parallel = run_search(config_with(), sampler="random", trials=8, jobs=2, out_root=tmp_path)
    pd.testing.assert_frame_equal(numbers(parallel), numbers(random_dir))


def test_a_search_runs_on_a_dask_cluster(random_and_tpe, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="the dask extra is not installed: pip install -e '.[dask]'"
    )
    random_dir, _ = random_and_tpe
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run_search(
            config_with(),
            sampler="random",
            trials=8,
            backend="dask",
            address=cluster.scheduler_address,
            out_root=tmp_path,
        )
    pd.testing.assert_frame_equal(numbers(on_dask), numbers(random_dir))
    assert all(is_run_dir(on_dask / name) for name in pd.read_csv(on_dask / "sweep.csv")["point"])


def test_a_search_directory_is_not_resumed_as_a_grid(random_and_tpe):
    from perceptron_lab.experiment.sweep import sweep_points

    random_dir, _ = random_and_tpe
    with pytest.raises(UserError, match="that sweep is a search; resume it with sampler random and trials 8"):
        sweep_points(config_with(), ["batch_size=4,8"], resume=random_dir)
    with pytest.raises(UserError, match="that sweep is a grid"):
        grid = config_with(sweep={"grid": {"batch_size": [4, 8]}})
        from perceptron_lab.experiment.sweep import run_sweep

        grid_dir = run_sweep(grid, sweep_points(grid), out_root=random_dir.parent / "grid", plots=False)
        run_search(config_with(), sampler="random", trials=8, resume=grid_dir)


def test_validate_checks_the_search_space(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({**IRIS, "sweep": {"space": {"batch_size": []}}}))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "sweep.space.batch_size: the list of choices is empty" in result.output
    path.write_text(yaml.safe_dump(IRIS))
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0


def test_a_grid_sweep_of_a_config_with_only_a_space_points_to_search():
    from perceptron_lab.experiment.sweep import sweep_points

    with pytest.raises(UserError, match="declares sweep.space; use sampler tpe"):
        sweep_points(config_with(), [])


def test_an_objective_the_runs_do_not_record_stops_the_search(tmp_path):
    regression = config_with(
        dataset="diabetes",
        architecture=[10, 4, 1],
        output_activation=None,
        epochs=2,
        sweep={"space": {"batch_size": [16, 64]}, "objective": {"metric": "accuracy"}},
    )
    with pytest.raises(ConfigError, match="sweep.objective: the runs record no test accuracy"):
        run_search(regression, sampler="random", trials=2, out_root=tmp_path)


def test_the_objective_prefers_the_validation_split():
    held_out = config_with(validation_split=0.2, sweep={"space": {}, "objective": {"metric": "loss"}})
    assert resolve_objective(held_out).split == "validation"


@pytest.mark.parametrize("plots", ["all", "best", "none"])
def test_plots_mode_decides_which_trials_get_figures(tmp_path, plots):
    sweep_dir = run_search(config_with(epochs=2), sampler="random", trials=2, out_root=tmp_path, plots=plots)
    trial_dirs = sorted(path for path in sweep_dir.iterdir() if is_run_dir(path))
    with_figures = [path for path in trial_dirs if list(path.glob("plots/*.png"))]
    assert len(trial_dirs) == 2
    assert len(with_figures) == {"all": 2, "best": 1, "none": 0}[plots]
    assert any(sweep_dir.glob("plots/*.png")) == (plots != "none")  # the sweep figure
