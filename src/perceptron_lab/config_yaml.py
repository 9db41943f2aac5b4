"""Reading config YAML safely: UTF-8 text, bounded nesting and alias expansion, no duplicate keys.

A config is small, so every limit here is far above what a real one needs and far below what
exhausts memory or the stack: a 600-byte file of nested aliases can expand to billions of nodes,
and 20000 nested brackets overflow a recursive walk. Every problem is one `ConfigError` line that
names the source (file, `override key`) and, where YAML knows it, the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

MAX_DEPTH = 50
"""Deepest nesting of mappings and lists a config may use."""
MAX_NODES = 20_000
"""Most YAML nodes a document may hold once every alias is expanded."""
MAX_BYTES = 1_000_000
"""Largest config file read."""

LineIndex = dict[tuple[str, ...], int]
"""Key path (list items as their index, a string) -> 1-based line."""


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting and duplicate mapping keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.MarkedYAMLError(
                    problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise yaml.MarkedYAMLError(
                        problem=f"duplicate key '{key}' (first on line {seen[key]})",
                        problem_mark=key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 reads 1e-3 (an exponent without a dot) as a string; configs mean a float.
_LimitedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"), list("-+0123456789")
)
SCALAR_CHARS_PER_NODE = 80
"""A long string counts as one node per this many characters in the expansion limit."""


def _expanded_size(root: yaml.Node) -> int:
    """Number of nodes of `root` with every alias expanded, counted in time linear in the
    distinct nodes (an alias is the same node object at each place it is used)."""
    sizes: dict[int, int] = {}
    # Post-order without recursion: a node's size is 1 + its children's sizes.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            own = 1 + len(str(node.value)) // SCALAR_CHARS_PER_NODE if not children else 1
            sizes[id(node)] = min(own + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _error_line(error: yaml.YAMLError, source: str, numbered: bool) -> str:
    # The construct being parsed (context) locates an unclosed bracket better than the place
    # the parser gave up (problem), which may be the end of the text.
    mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if isinstance(error, yaml.constructor.ConstructorError) and "tag" in str(problem):
        problem = "tags such as !!python are not allowed in a config"
    where = f"{source}:{mark.line + 1}" if mark is not None and numbered else source
    return f"{where}: invalid YAML ({problem})"


@dataclass
class YamlDocument:
    """A parsed YAML text: its data and its node tree (for line numbers)."""

    data: Any
    root: yaml.Node | None
    _lines: LineIndex | None = field(default=None, repr=False)

    @property
    def lines(self) -> LineIndex:
        if self._lines is None:
            self._lines = line_index(self.root)
        return self._lines


class YamlTooLarge(yaml.YAMLError):
    """A document past MAX_DEPTH nesting or MAX_NODES expanded nodes."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def load_limited(text: str) -> tuple[Any, yaml.Node | None]:
    """(data, root node) of YAML `text`, like yaml.safe_load within the limits above, refusing
    duplicate keys. Raises yaml.YAMLError (YamlTooLarge past a limit)."""
    loader = _LimitedLoader(text)  # the reader refuses control characters right away
    try:
        root = loader.get_single_node()
        if root is not None and _expanded_size(root) > MAX_NODES:
            raise YamlTooLarge(f"expands to more than {MAX_NODES:,} nodes (aliases nested inside aliases?)")
        return (loader.construct_document(root) if root is not None else None), root
    except RecursionError:
        raise YamlTooLarge("nested too deeply") from None
    finally:
        loader.dispose()


def safe_load(text: str) -> Any:
    """yaml.safe_load within the limits above (for one-line values such as grid options)."""
    return load_limited(text)[0]


def parse_yaml(text: str, source: str, numbered: bool = True) -> YamlDocument:
    """Parse YAML `text` within the limits above, or raise ConfigError naming `source`
    (and the line, when `numbered`: not for a one-line value)."""
    try:
        data, root = load_limited(text)
    except yaml.YAMLError as error:
        raise ConfigError(_error_line(error, source, numbered)) from None
    return YamlDocument(data, root)


def line_index(root: yaml.Node | None) -> LineIndex:
    """Map each key path (and list index) of a parsed document to its 1-based line number.

    Iterative, and bounded because load_limited refused documents past MAX_NODES expanded nodes.
    """
    lines: LineIndex = {}
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [] if root is None else [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = path + (str(key_node.value),)
                lines.setdefault(child, key_node.start_mark.line + 1)
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = path + (str(i),)
                lines[child] = item.start_mark.line + 1
                stack.append((item, child))
    return lines


def read_config_text(path: Path) -> str:
    """The UTF-8 text of a config file, or ConfigError naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes is too large for a config (limit {MAX_BYTES:,})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[error.start]:02x}); save the config as UTF-8"
        ) from None
    if "\x00" in text:
        raise ConfigError(f"{path}: not a text file (contains NUL bytes)")
    return text
