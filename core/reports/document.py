"""One simple document model rendered two ways: self-contained HTML and PDF.

Reports (meeting minutes, documentation packs) are built once as a ``Document`` of blocks -
headings, paragraphs, facts, tables, bullet lists - and rendered by ``to_html`` and ``to_pdf``,
so both formats always say the same thing. The HTML carries its own CSS and no external
resources; every piece of text is escaped. The PDF embeds DejaVu Sans (Unicode) when the
system has it, and otherwise falls back to a core font with the text transliterated to
Latin-1, so a report never fails on an unusual character.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.config import get_settings
from core.errors import InvalidInput

__all__ = ["Document", "to_html", "to_pdf", "write", "cell_text", "absolute_link"]

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/Library/Fonts/DejaVuSans.ttf"),
)


def absolute_link(link: str) -> str:
    """A page link as it works from a downloaded file: "/costs" -> "https://steward.example.com/costs",
    from the ``STEWARD_BASE_URL`` setting (the one e-mails and webhooks use). Absolute links stay."""
    if "://" in link or not link.startswith("/"):
        return link
    return get_settings().base_url.rstrip("/") + link


def cell_text(value: Any) -> str:
    """A value as report text: dates (also ISO strings) as YYYY-MM-DD (HH:MM UTC), None as '', booleans
    as yes/no, floats trimmed."""
    if value is None or (isinstance(value, float | datetime) and value != value):  # NaN, NaT
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:  # an ISO timestamp frozen in evidence
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M UTC")
            if (value.hour, value.minute) != (0, 0)
            else f"{value:%Y-%m-%d}"
        )
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):  # never "1.339e+05": thousands with separators, small ones to 3 digits
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    return str(value)


@dataclass
class Block:
    kind: str  # heading, paragraph, facts, table, bullets, badge
    text: str = ""
    level: int = 2
    rows: list[list[str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    tone: str = ""  # badge colour: ok, warn, bad, info
    link: str = ""


@dataclass
class Document:
    """An ordered list of blocks with a title; add blocks with the methods below."""

    title: str
    subtitle: str = ""
    blocks: list[Block] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> Document:
        self.blocks.append(Block("heading", text=text, level=level))
        return self

    def paragraph(self, text: str, *, link: str = "") -> Document:
        self.blocks.append(Block("paragraph", text=text, link=link))
        return self

    def badge(self, text: str, tone: str = "info") -> Document:
        self.blocks.append(Block("badge", text=text, tone=tone))
        return self

    def facts(self, pairs: list[tuple[str, Any]]) -> Document:
        """Label: value lines (a two-column table without headings)."""
        self.blocks.append(Block("facts", rows=[[label, cell_text(value)] for label, value in pairs]))
        return self

    def table(self, columns: list[str], rows: list[list[Any]]) -> Document:
        self.blocks.append(
            Block("table", columns=columns, rows=[[cell_text(v) for v in row] for row in rows])
        )
        return self

    def bullets(self, items: list[str]) -> Document:
        self.blocks.append(Block("bullets", rows=[[i] for i in items]))
        return self

    def text(self) -> str:
        """All the document's words, for search and tests."""
        parts = [self.title, self.subtitle]
        for b in self.blocks:
            parts.extend([b.text, *b.columns, *(c for row in b.rows for c in row)])
        return "\n".join(p for p in parts if p)


# --- HTML ----------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;color:#1f2933;max-width:1000px;
margin:2rem auto;padding:0 1.5rem;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.3rem;border-bottom:2px solid #d9e2ec;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1.08rem;margin-top:1.4rem}.subtitle{color:#52606d;margin-top:0}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #d9e2ec;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f0f4f8}
table.facts td:first-child{width:28%;color:#52606d;background:#f8fafc}
.badge{display:inline-block;border-radius:.8rem;padding:.1rem .7rem;font-size:.85rem;font-weight:600;margin:.2rem 0}
.ok{background:#e3f9e5;color:#05400a}.warn{background:#fff3c4;color:#5c4813}.bad{background:#ffe3e3;color:#610404}
.info{background:#e6f6ff;color:#03449e}footer{margin-top:3rem;color:#7b8794;font-size:.8rem}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def to_html(doc: Document, *, generated_at: datetime | None = None) -> str:
    """The document as one self-contained HTML page (inline CSS, no scripts, all text escaped)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(doc.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(doc.title)}</h1>",
    ]
    if doc.subtitle:
        out.append(f'<p class="subtitle">{_e(doc.subtitle)}</p>')
    for block in doc.blocks:
        out.append(_html_block(block))
    if generated_at is not None:
        out.append(f"<footer>Generated by Steward on {_e(cell_text(generated_at))}.</footer>")
    out.append("</body></html>")
    return "\n".join(out)


def _html_block(b: Block) -> str:
    if b.kind == "heading":
        level = min(max(b.level, 2), 4)
        return f"<h{level}>{_e(b.text)}</h{level}>"
    if b.kind == "paragraph":
        body = _e(b.text).replace("\n", "<br>")
        if b.link:
            link = absolute_link(b.link)
            body += f' <a href="{_e(link)}">{_e(link)}</a>'
        return f"<p>{body}</p>"
    if b.kind == "badge":
        return f'<p><span class="badge {_e(b.tone)}">{_e(b.text)}</span></p>'
    if b.kind == "facts":
        rows = "".join(
            f"<tr><td>{_e(k)}</td><td>{_e(v).replace(chr(10), '<br>')}</td></tr>" for k, v in b.rows
        )
        return f'<table class="facts">{rows}</table>'
    if b.kind == "table":
        head = "".join(f"<th>{_e(c)}</th>" for c in b.columns)
        body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in b.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if b.kind == "bullets":
        return "<ul>" + "".join(f"<li>{_e(row[0])}</li>" for row in b.rows) + "</ul>"
    raise ValueError(f"unknown block kind {b.kind!r}")


# --- PDF -------------------------------------------------------------------------------------------

_TONES = {"ok": (227, 249, 229), "warn": (255, 243, 196), "bad": (255, 227, 227), "info": (230, 246, 255)}


def _unicode_font() -> Path | None:
    return next((p for p in FONT_CANDIDATES if p.is_file()), None)


def _latin1(text: str) -> str:
    """Text a core PDF font can show: accents kept where Latin-1 has them, others stripped or '?'."""
    replaced = (
        text.replace("≥", ">=")
        .replace("≤", "<=")
        .replace("×", "x")
        .replace("–", "-")
        .replace("—", "-")
        .replace("…", "...")
        .replace("→", "->")
        .replace("‘", "'")
        .replace("’", "'")
        .replace("“", '"')
        .replace("”", '"')
    )
    out = []
    for ch in replaced:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
    return "".join(out)


def to_pdf(doc: Document, *, generated_at: datetime | None = None) -> bytes:
    """The document as PDF bytes (A4, Unicode font embedded when available)."""
    from fpdf import FPDF  # lazy: only report exports need it
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    font_path = _unicode_font()
    if font_path is not None:
        pdf.add_font("Body", "", str(font_path))
        bold = font_path.with_name("DejaVuSans-Bold.ttf")
        pdf.add_font("Body", "B", str(bold if bold.is_file() else font_path))
        family, clean = "Body", (lambda s: s)
    else:
        family, clean = "Helvetica", _latin1
    pdf.set_title(clean(doc.title))
    pdf.set_creator("Steward")
    pdf.add_page()
    pdf.set_font(family, "B", 17)
    pdf.multi_cell(0, 9, clean(doc.title), new_x="LMARGIN", new_y="NEXT")
    if doc.subtitle:
        pdf.set_font(family, "", 10)
        pdf.set_text_color(82, 96, 109)
        pdf.multi_cell(0, 6, clean(doc.subtitle), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    for block in doc.blocks:
        _pdf_block(pdf, block, family, clean, FontFace)
    if generated_at is not None:
        pdf.ln(4)
        pdf.set_font(family, "", 8)
        pdf.multi_cell(
            0, 5, clean(f"Generated by Steward on {cell_text(generated_at)}."), new_x="LMARGIN", new_y="NEXT"
        )
    return bytes(pdf.output())


def _pdf_block(pdf: Any, b: Block, family: str, clean: Any, FontFace: Any) -> None:
    if b.kind == "heading":
        size = {2: 14, 3: 12}.get(b.level, 11)
        pdf.ln(3 if b.level > 2 else 5)
        pdf.set_font(family, "B", size)
        pdf.multi_cell(0, 7, clean(b.text), new_x="LMARGIN", new_y="NEXT")
        return
    pdf.set_font(family, "", 9.5)
    if b.kind == "paragraph":
        text = b.text + (f" ({absolute_link(b.link)})" if b.link else "")
        pdf.multi_cell(0, 5, clean(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    elif b.kind == "badge":
        pdf.set_fill_color(*_TONES.get(b.tone, _TONES["info"]))
        pdf.set_font(family, "B", 9.5)
        pdf.multi_cell(0, 6, clean(b.text), fill=True, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_fill_color(255, 255, 255)  # the fill colour is global: later tables must not inherit it
        pdf.ln(1)
    elif b.kind == "bullets":
        for row in b.rows:
            pdf.multi_cell(
                0,
                5,
                clean(f"•  {row[0]}") if family == "Body" else clean(f"-  {row[0]}"),
                align="L",
                new_x="LMARGIN",
                new_y="NEXT",
            )
        pdf.ln(1)
    elif b.kind in ("facts", "table"):
        _pdf_table(pdf, b, family, clean, FontFace)
    else:
        raise ValueError(f"unknown block kind {b.kind!r}")


def _pdf_table(pdf: Any, b: Block, family: str, clean: Any, FontFace: Any) -> None:
    rows = [[clean(c) for c in row] for row in b.rows]
    if b.kind == "facts":
        widths: tuple[float, ...] = (55, 125)
        data = rows
        headings = False
    else:
        data = [[clean(c) for c in b.columns], *rows]
        widths = _column_widths(data)
        headings = True
    if not rows:
        return
    pdf.set_font(family, "", 8.5)
    with pdf.table(
        col_widths=widths,
        width=180,
        first_row_as_headings=headings,
        line_height=4.6,
        text_align="LEFT",
        padding=1.2,
        headings_style=FontFace(emphasis="BOLD", fill_color=(240, 244, 248)),
    ) as table:
        for row in data:
            r = table.row()
            for cell in row:
                r.cell(cell)
    pdf.ln(2)


def _column_widths(data: list[list[str]]) -> tuple[float, ...]:
    """Column widths in proportion to their longest text (bounded), summing to the page width."""
    n = len(data[0])
    # A column is at least as wide as the longest word of its heading, at most 60 characters' worth.
    longest = [
        max(
            max((len(w) for w in data[0][i].split()), default=1) + 3,
            min(max((len(row[i]) for row in data), default=1), 60),
        )
        + 3
        for i in range(n)
    ]
    total = sum(longest)
    return tuple(180 * w / total for w in longest)


def write(doc: Document, path: Path, *, generated_at: datetime | None = None) -> Path:
    """Write the document to ``path`` as HTML or PDF, chosen by the file extension."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(to_html(doc, generated_at=generated_at), encoding="utf-8")
    elif suffix == ".pdf":
        path.write_bytes(to_pdf(doc, generated_at=generated_at))
    else:
        raise InvalidInput(f"output file '{path.name}' must end in .html or .pdf.")
    return path
