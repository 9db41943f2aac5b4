"""Tests never install system packages: installing belongs to .ci/run."""

import re
from pathlib import Path

# The manager names are assembled so that this file, too, holds no literal install command.
APT_GET = "-".join(("apt", "get"))
MANAGERS = "|".join((APT_GET, "apt", "dnf", "yum", "apk", "brew"))
INSTALLERS = re.compile(rf"""["']({MANAGERS})["']\s*,\s*["']install["']|\b({MANAGERS}) install\b""")


def test_no_test_runs_a_package_manager():
    here = Path(__file__).parent
    offenders = [
        f"{path.relative_to(here)}:{number}"
        for path in sorted(here.rglob("*.py"))
        if path.name != Path(__file__).name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if INSTALLERS.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


def test_the_pattern_catches_an_install_command():
    assert INSTALLERS.search(f'install = ["{APT_GET}", "install", "-y", "chromium"]')
    assert INSTALLERS.search(f"subprocess.run('{APT_GET} install -y chromium', shell=True)")
    assert not INSTALLERS.search("pip wheel . --no-deps")
