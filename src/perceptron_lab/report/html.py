"""report.html: one self-contained page (figures as data URIs, tables from pandas, no external resources)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .safe_files import write_text

MIME_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328;
       background: #f6f8fa; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
h1 { margin: 0 0 .3rem; font-size: 1.7rem; }
h2 { margin-top: 2.2rem; padding-bottom: .3rem; border-bottom: 1px solid #d0d7de; font-size: 1.25rem; }
.subtitle { color: #57606a; margin: 0 0 1rem; }
nav a { margin-right: .9rem; color: #0969da; text-decoration: none; font-size: .92rem; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem 1.5rem; align-items: flex-start; }
figure { margin: 1rem 0; flex: 0 1 auto; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: .9rem; margin-top: .3rem; }
table.report { border-collapse: collapse; font-size: .86rem; margin: .6rem 0 1.2rem; }
table.report th, table.report td { border: 1px solid #d0d7de; padding: .28rem .6rem; text-align: right; }
table.report th { background: #f6f8fa; }
table.report td:first-child { text-align: left; }
table.report tbody tr:nth-child(even) { background: #fbfcfd; }
.table-wrap { overflow-x: auto; }
.caption { font-weight: 600; margin: 1rem 0 .2rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; font-size: .92rem; }
dl.facts dt { color: #57606a; }
dl.facts dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; font-size: .82rem; }
"""


@dataclass
class FigureItem:
    path: Path
    caption: str


@dataclass
class TableItem:
    caption: str
    frame: pd.DataFrame
    index: bool = False


@dataclass
class FactsItem:
    """A definition list of (label, value) pairs."""

    facts: dict[str, object]


@dataclass
class CodeItem:
    caption: str
    text: str


@dataclass
class Section:
    title: str
    items: list = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


def data_uri(path: Path) -> str:
    """The file as a base64 data URI (png, svg or gif)."""
    mime = MIME_TYPES[Path(path).suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def _render_item(item) -> str:
    if isinstance(item, FigureItem):
        caption = html.escape(item.caption)
        return (
            f'<figure><img src="{data_uri(item.path)}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    if isinstance(item, TableItem):
        table = item.frame.to_html(index=item.index, classes="report", border=0, na_rep="", escape=True)
        return f'<p class="caption">{html.escape(item.caption)}</p><div class="table-wrap">{table}</div>'
    if isinstance(item, FactsItem):
        rows = "".join(
            f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in item.facts.items()
        )
        return f'<dl class="facts">{rows}</dl>'
    if isinstance(item, CodeItem):
        return f"<details><summary>{html.escape(item.caption)}</summary><pre>{html.escape(item.text)}</pre></details>"
    raise TypeError(f"cannot render {type(item).__name__}")


def _render_items(items: list) -> str:
    """Items in order; consecutive figures share one wrapping row."""
    parts, figures = [], []
    for item in [*items, None]:
        if isinstance(item, FigureItem):
            figures.append(_render_item(item))
            continue
        if figures:
            parts.append(f'<div class="figures">{"".join(figures)}</div>')
            figures = []
        if item is not None:
            parts.append(_render_item(item))
    return "".join(parts)


def render_html(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole page as a string."""
    sections = [s for s in sections if s.items]
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{_render_items(s.items)}</section>'
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f'<body><main><h1>{html.escape(title)}</h1><p class="subtitle">{html.escape(subtitle)}</p>'
        f"<nav>{nav}</nav>{body}</main></body></html>\n"
    )


def write_html(path: Path, title: str, subtitle: str, sections: list[Section]) -> Path:
    return write_text(Path(path), render_html(title, subtitle, sections))
