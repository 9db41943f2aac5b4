"""Names that become one directory under the results root."""

from __future__ import annotations

MAX_COMPONENT = 100
"""Longest accepted name: file systems allow 255 bytes, and run directories add suffixes."""


def unsafe_component_reason(name: str) -> str | None:
    """Why `name` cannot be one path component of a results directory, or None when it can.

    Refused: empty, `.`/`..`, a leading dot (hidden; `.partial` builds use it), a path separator,
    NUL or another control character, more than MAX_COMPONENT characters or 255 UTF-8 bytes.
    """
    if not name:
        return "must not be empty"
    if name in (".", ".."):
        return f"{name!r} is not a directory name"
    if "/" in name or "\\" in name:
        return "must be one directory name, without '/' or '\\'"
    if name.startswith("."):
        return "must not start with '.'"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "must not contain control characters (NUL, newline, ...)"
    if len(name) > MAX_COMPONENT or len(name.encode("utf-8", "surrogatepass")) > 255:
        return f"is {len(name)} characters long; at most {MAX_COMPONENT}"
    return None
