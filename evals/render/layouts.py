"""Three visually distinct HTML layouts for any ``DocView``.

* ``letterhead``: issuer letterhead, two-column party blocks, ruled item table, totals box.
* ``boxed``: a form of numbered boxes (like B/L forms and the EU single administrative
  document), parties in boxes, gridded item table.
* ``plain``: an ERP printout in a monospace font, ``label: value`` lines, stacked parties.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from evals.render.view import Cell, DocView, PartyBlock

LAYOUTS = ("letterhead", "boxed", "plain")


def _t(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _party_html(block: PartyBlock, title_tag: str = "b") -> str:
    lines = "<br/>".join(_t(c.text) for c in block.lines)
    return f"<{title_tag}>{_t(block.title)}</{title_tag}><br/>{lines}"


@dataclass(frozen=True)
class Parts:
    """A layout cut where pages may break: head, the item table (any slice of rows), tail."""

    head: str
    table: Callable[[list[list[Cell]]], str]
    tail: str
    wrap: Callable[[str], str]


def _items_table(
    view: DocView, rows: list[list[Cell]], table_style: str, cell_style: str, head_style: str
) -> str:
    head = "".join(
        f'<th style="{head_style};text-align:{a}">{_t(c)}</th>'
        for c, a in zip(view.columns, view.aligns, strict=True)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td style="{cell_style};text-align:{c.align}">{_t(c.text)}</td>' for c in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<table style="{table_style}"><tr>{head}</tr>{"".join(body)}</table>'


def _extra_tables(view: DocView, cell_style: str) -> str:
    out = []
    for labels, rows in view.extra_tables:
        head = "".join(f'<th style="{cell_style};text-align:left">{_t(x)}</th>' for x in labels)
        body = "".join(
            "<tr>" + "".join(f'<td style="{cell_style}">{_t(c.text)}</td>' for c in r) + "</tr>"
            for r in rows
        )
        out.append(f'<table style="width:70%;margin-top:6px"><tr>{head}</tr>{body}</table>')
    return "".join(out)


def _kv_rows(pairs: list[tuple[str, Cell]], label_style: str) -> str:
    return "".join(
        f'<tr><td style="{label_style}">{_t(k)}</td><td>{_t(c.text)}</td></tr>' for k, c in pairs
    )


def letterhead(view: DocView) -> Parts:
    issuer = view.issuer
    big = "font-size:17pt;font-weight:bold;color:#1f3b70;margin:0"
    if issuer is not None and issuer.name:
        head = (
            f'<p style="{big}">{_t(issuer.name)}</p>'
            f'<p style="font-size:8pt;color:#555;margin:0">{_t(issuer.address or "")}</p>'
        )
    else:
        carrier = next((c.text for _, c in view.header if c.key == "carrier"), "")
        head = f'<p style="{big}">{_t(carrier)}</p>'
    rule = '<p style="border-bottom:2px solid #1f3b70;margin:2px 0 8px 0"></p>'
    title = f'<p style="font-size:14pt;font-weight:bold;text-align:right">{_t(view.title)}</p>'
    hdr = f'<table style="margin-left:50%">{_kv_rows(view.header, "color:#555")}</table>'
    width = 100 // max(1, len(view.parties))
    cols = "".join(
        f'<td style="vertical-align:top;padding:4px;width:{width}%">{_party_html(p)}</td>'
        for p in view.parties
    )
    parties = f'<table style="width:100%;margin:8px 0"><tr>{cols}</tr></table>'
    totals = _kv_rows(view.totals, "font-weight:bold")
    footer = f"<table>{_kv_rows(view.footer, 'color:#555')}</table>"
    return Parts(
        head=head + rule + title + hdr + parties + _extra_tables(view, "padding:2px"),
        table=lambda rows: _items_table(
            view,
            rows,
            "width:100%;border-collapse:collapse;margin-top:8px",
            "border-bottom:1px solid #bbb;padding:2px",
            "background-color:#dde4f0;padding:3px",
        ),
        tail=f'<table style="margin-left:60%;margin-top:6px">{totals}</table>{footer}',
        wrap=lambda body: f'<div style="font-family:sans-serif;font-size:8.5pt">{body}</div>',
    )


def boxed(view: DocView) -> Parts:
    box = "border:1px solid #000;padding:3px;vertical-align:top"
    small = 'style="font-size:6.5pt;color:#333"'
    cells = [
        f'<td style="{box}"><span {small}>{_t(k)}</span><br/>{_t(c.text)}</td>'
        for k, c in view.header
    ]
    cells += [f'<td style="{box}">{_party_html(p, "span")}</td>' for p in view.parties]
    foot = [
        f'<td style="{box}"><span {small}>{_t(k)}</span><br/>{_t(c.text)}</td>'
        for k, c in view.footer
    ]

    def grid(cs: list[str]) -> str:
        rows = "".join("<tr>" + "".join(cs[i : i + 3]) + "</tr>" for i in range(0, len(cs), 3))
        return f'<table style="width:100%;border-collapse:collapse">{rows}</table>' if cs else ""

    title = f'<p style="font-size:13pt;font-weight:bold;text-align:center">{_t(view.title)}</p>'
    totals = _kv_rows(view.totals, "font-weight:bold")
    totals_html = (
        f'<table style="margin-left:55%;margin-top:4px;border:1px solid #000">{totals}</table>'
        if view.totals
        else ""
    )
    return Parts(
        head=title + grid(cells) + _extra_tables(view, "border:1px solid #000;padding:2px"),
        table=lambda rows: _items_table(
            view,
            rows,
            "width:100%;border-collapse:collapse;margin-top:6px",
            "border:1px solid #000;padding:2px",
            "border:1px solid #000;padding:2px;font-size:7pt",
        ),
        tail=totals_html + grid(foot),
        wrap=lambda body: f'<div style="font-family:serif;font-size:8.5pt">{body}</div>',
    )


def plain(view: DocView) -> Parts:
    head = [f'<p style="font-size:12pt;font-weight:bold">{_t(view.title)}</p>']
    for k, c in view.header:
        prefix = f"{_t(k.upper())}: " if k else ""
        head.append(f"<p style='margin:0'>{prefix}{_t(c.text)}</p>")
    for p in view.parties:
        head.append(f'<p style="margin:6px 0 0 0">{_party_html(p, "u")}</p>')
    head.append(_extra_tables(view, "padding:1px 6px 1px 0"))
    tail = [
        f"<p style='margin:0;text-align:right'>{_t(k.upper())}: {_t(c.text)}</p>"
        for k, c in view.totals
    ]
    tail += [f"<p style='margin:0'>{_t(k)}: {_t(c.text)}</p>" for k, c in view.footer]
    return Parts(
        head="".join(head),
        table=lambda rows: _items_table(
            view,
            rows,
            "width:100%;margin-top:8px",
            "padding:1px 3px",
            "border-bottom:1px dashed #000;padding:1px 3px",
        ),
        tail="".join(tail),
        wrap=lambda body: f'<div style="font-family:monospace;font-size:8pt">{body}</div>',
    )


RENDERERS: dict[str, Callable[[DocView], Parts]] = {
    "letterhead": letterhead,
    "boxed": boxed,
    "plain": plain,
}
