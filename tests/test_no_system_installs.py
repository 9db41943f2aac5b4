"""Tests never install system packages: installing belongs to .ci/run."""

import re
from pathlib import Path

INSTALLERS = re.compile(
    r"""["'](apt-get|apt|dnf|yum|apk|brew)["']\s*,\s*["']install["']|\b(apt-get|apt|dnf|yum|apk|brew) install\b"""
)


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
    assert INSTALLERS.search('install = ["apt-get", "install", "-y", "chromium"]')
    assert INSTALLERS.search("subprocess.run('apt-get install -y chromium', shell=True)")
