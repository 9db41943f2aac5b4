"""Small choices shared by the library and the command line, importable without the library's
heavy dependencies (so the command line's help stays fast)."""

from __future__ import annotations

from enum import Enum


class PlotsMode(str, Enum):
    """Which point figures a sweep draws: none, the best point's only (after the sweep), or every
    point's (in the worker that ran it). Any mode but none also draws the sweep figure."""

    NONE = "none"
    BEST = "best"
    ALL = "all"
