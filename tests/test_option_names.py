"""The library names its parameters, never command-line options; `lab` shows the options."""

import ast
import json
import re
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from perceptron_lab.cli import OPTION_OF_PARAM, _as_cli_message, app
from perceptron_lab.errors import UserError

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "perceptron_lab"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _library_files() -> list[Path]:
    """Every module but the command line's own (cli.py, cli_*.py)."""
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not p.name.startswith("cli")]


def _options_in_strings(path: Path) -> list[tuple[int, str]]:
    """(line, option) for each command-line option a string literal of `path` spells (f-string
    pieces and docstrings included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, option) for option in OPTION.findall(node.value)]
    return found


def test_the_scan_finds_an_option_in_a_message_and_in_an_f_string(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('x = "a -- b, sweep.grid"  # --not-a-string\nraise UserError(f"--grid {key}: bad")\n')
    assert _options_in_strings(module) == [(2, "--grid")]


def test_library_strings_name_no_command_line_option():
    assert len(_library_files()) > 50  # the scan sees the package
    hits = [
        f"{path.relative_to(PACKAGE)}:{line}: {option}"
        for path in _library_files()
        for line, option in _options_in_strings(path)
    ]
    assert not hits, "library strings name CLI options; name the parameter instead:\n" + "\n".join(hits)


def _lab_options() -> set[str]:
    group = typer.main.get_command(app)
    options: set[str] = set()
    commands = list(group.commands.values())  # type: ignore[attr-defined]
    while commands:
        command = commands.pop()
        if isinstance(command, click.Group):
            commands += command.commands.values()
        for param in command.params:
            options.update(o for o in param.opts + param.secondary_opts if o.startswith("--"))
    return options


def test_every_mapped_parameter_is_shown_as_a_real_option():
    assert set(OPTION_OF_PARAM.values()) <= _lab_options()


@pytest.mark.parametrize(
    "message, param, shown",
    [
        ("jobs must be >= 1 (got 0)", "jobs", "--jobs must be >= 1 (got 0)"),
        ("jobs table is empty", None, "jobs table is empty"),
        (
            "pruner needs backend local: SQLite",
            ("pruner", "backend"),
            "--pruner needs --backend local: SQLite",
        ),
        # a name inside quotes, brackets or a dotted key is no mention
        (
            "output.dill (dill) needs the optional 'dill' extra: pip install 'perceptron_lab[dill]'",
            "dill",
            "output.dill (--dill) needs the optional 'dill' extra: pip install 'perceptron_lab[dill]'",
        ),
        (
            "give grid_overrides k=1,2 or a sweep.grid block",
            "grid_overrides",
            "give --grid k=1,2 or a sweep.grid block",
        ),
        # once per listed mention, left to right; a wrapped error after them is left alone
        (
            "resume r: resume it with grid_overrides a=1 grid_overrides b=2 (resume grid_overrides)",
            ("resume", "grid_overrides", "grid_overrides"),
            "--resume r: resume it with --grid a=1 --grid b=2 (resume grid_overrides)",
        ),
        (
            "address h:1: unreachable (no route to address)",
            "address",
            "--address h:1: unreachable (no route to address)",
        ),
        # a parameter the command line does not spell otherwise stays as it is
        ("plots: 'x' is not one of none, best", "plots", "plots: 'x' is not one of none, best"),
    ],
)
def test_the_cli_shows_the_named_parameters_as_options(message, param, shown):
    assert _as_cli_message(UserError(message, param=param)) == shown


def lab(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def tiny_file(tmp_path, tiny_config):
    def write(file: str = "tiny.yaml", **changes) -> Path:
        path = tmp_path / file
        path.write_text(json.dumps(tiny_config(**changes)))
        return path

    return write


@pytest.mark.parametrize(
    "args, shown",
    [
        (["--grid", "epochs"], "error: --grid 'epochs' must look like key.path=value1,value2,..."),
        (["--grid", "epochs=2,,3"], "error: --grid epochs: empty value in '2,,3'"),
        (["--grid", "epochs=2", "--grid", "epochs=3"], "error: --grid epochs is given twice"),
        (["--grid", "sweep.objective=1"], "error: --grid sweep.objective: a sweep cannot vary its own"),
        ([], "error: nothing to sweep: give --grid key=v1,v2,... or a sweep.grid"),
    ],
)
def test_lab_sweep_names_the_grid_option(tiny_file, args, shown):
    assert _one_error_line(lab("sweep", tiny_file(), *args, "--dry-run")).startswith(shown)


@pytest.mark.parametrize(
    "args, shown",
    [
        (
            ["--backend", "dask"],
            "error: --backend dask needs --address tcp://HOST:PORT of the Dask scheduler",
        ),
        (["--address", "tcp://127.0.0.1:1"], "error: --address is for --backend dask"),
        (
            ["--backend", "dask", "--address", "no url"],
            "error: --address: 'no url' is not like tcp://HOST:PORT",
        ),
    ],
)
def test_lab_sweep_names_the_backend_options(tiny_file, tmp_path, args, shown):
    result = lab("sweep", tiny_file(), "--grid", "epochs=2,3", *args, "--out", tmp_path / "out", "-q")
    assert _one_error_line(result).startswith(shown)
    assert not (tmp_path / "out").exists()


def test_lab_sweep_names_the_search_options(tiny_file, tmp_path):
    config = tiny_file("space.yaml", sweep={"space": {"epochs": [2, 3]}})
    args = ["--search", "random", "--trials", "2", "--out", tmp_path / "out", "-q"]
    result = lab("sweep", config, *args, "--pruner", "median", "--backend", "dask", "--address", "h:1")
    assert _one_error_line(result) == (
        "error: --pruner needs --backend local: Dask workers cannot reach the study's SQLite file"
    )
    assert not (tmp_path / "out").exists()
    grid = tiny_file()
    ran = lab("sweep", grid, "--grid", "epochs=2,3", "--out", tmp_path / "grid", "-q")
    assert ran.exit_code == 0, ran.output
    (sweep_dir,) = (tmp_path / "grid" / "tiny").iterdir()
    line = _one_error_line(lab("sweep", config, *args, "--resume", sweep_dir))
    assert line == f"error: --resume {sweep_dir}: that sweep is a grid; resume it without --search"
    line = _one_error_line(lab("sweep", grid, "--grid", "epochs=2,4", "--resume", sweep_dir, "-q"))
    assert line.startswith(f"error: --resume {sweep_dir}: that sweep was started with another config or grid")
    assert line.endswith("; resume it with the same config and --grid epochs=2,3")
    searched = lab("sweep", config, "--search", "random", "--trials", "2", "--out", tmp_path / "search", "-q")
    assert searched.exit_code == 0, searched.output
    (search_dir,) = (tmp_path / "search" / "tiny").iterdir()
    line = _one_error_line(lab("sweep", grid, "--resume", search_dir, "-q"))
    assert line == (
        f"error: --resume {search_dir}: that sweep is a search; resume it with --search random and --trials 2"
    )
