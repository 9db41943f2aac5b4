"""Data-test fixtures: an isolated cache and a local file server."""

from __future__ import annotations

import pytest
from data_files import FileServer


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every data test gets its own empty cache and no data/mirror variables from the outside."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("PERCEPTRON_LAB_DATA", raising=False)
    monkeypatch.delenv("PERCEPTRON_LAB_MIRROR", raising=False)
    return cache / "perceptron_lab"


@pytest.fixture
def file_server(tmp_path):
    """A running FileServer over tmp_path/mirror (stopped at the end of the test)."""
    root = tmp_path / "mirror"
    root.mkdir()
    server = FileServer(root)
    yield server
    server.stop()
