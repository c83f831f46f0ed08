"""Text from the registry shown literally: never as Markdown, HTML or a link.

Names, purposes, descriptions, reasons, comments, labels, meeting text, file names and the
core's error messages (which quote what people typed) are user-provided. Streamlit renders
Markdown in ``st.markdown``, titles, captions, alerts (``st.error`` ...), toasts, widget and
tab labels, expander labels, radio options and ``st.table`` cells; Markdown images there are
fetched by the viewer's browser from whatever host the text names. So every such string goes
through ``plain`` before it reaches one of those, and through ``chart`` before it reaches a
plotly label (plotly renders a subset of HTML, links included). Tables drawn with
``st.dataframe`` and option texts of select boxes show text as it is and need neither.
"""

from __future__ import annotations

import html
import re

# Characters that make Markdown anywhere in a line: code, emphasis, links and images ([ ]),
# HTML and <autolinks>, tables, strikethrough, math, character references (&lt;).
_INLINE = re.compile(r"([\\`*_\[\]<>|~$&])")
# ... and only at the start of a line: headings, lists, block quotes, setext underlines.
_INDENT = re.compile(r"^[ \t]+", flags=re.MULTILINE)  # four spaces would start a code block
_LINE_START = re.compile(r"^[ \t]*(?:([#+\-=>])|(\d+)([.)]))", flags=re.MULTILINE)
# GitHub-flavoured autolinks (e-mail addresses, http(s)://, www.), Streamlit's icons
# (:material/x:) and emoji shortcodes (:smile:) are found in the text *after* Markdown escapes
# are resolved, so no backslash stops them. An invisible word joiner (U+2060) inside the
# pattern does: before an "@", after a colon that touches a word or a slash, after "www".
JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?<=:)(?=[\w/+\\-])|(?=@)|(?<=www)(?=\.)", flags=re.IGNORECASE)


def plain(text: object) -> str:
    """``text`` escaped for Markdown: shown exactly as written, as one paragraph of text.

    Line breaks stay line breaks (as Markdown hard breaks); indentation at the start of a line is
    dropped, because four spaces would turn the rest of the line into a code block.
    """
    lines = "" if text is None else str(text).replace("\r\n", "\n")
    escaped = _INLINE.sub(r"\\\1", lines)
    escaped = _LINE_START.sub(_line_start, _INDENT.sub("", escaped))
    return _AUTOLINK.sub(JOINER, escaped).replace("\n", "  \n")


def emphasised(text: str) -> str:
    """A sentence of the core whose only formatting is ``**bold**`` around the names it quotes
    (labelling questions, explanation sentences): every part shown literally, those spans bold."""
    parts = text.split("**")
    if len(parts) % 2 == 0:  # an unpaired "**" belongs to the text: no formatting at all
        return plain(text)
    return "".join(f"**{plain(p)}**" if i % 2 and p else plain(p) for i, p in enumerate(parts))


def _line_start(match: re.Match[str]) -> str:
    """A block marker at the start of a line, escaped ("\\# ", "1\\. ")."""
    marker, number, dot = match.groups()
    return "\\" + marker if marker else number + "\\" + dot


def code(text: object) -> str:
    """``text`` as inline code, exactly as written: the fence is longer than any run of backticks
    in it, so the text cannot close it (nothing is interpreted inside a code span)."""
    value = "" if text is None else str(text).replace("\n", " ")
    runs = [len(r) for r in re.findall(r"`+", value)]
    fence = "`" * (max(runs, default=0) + 1)
    return f"{fence} {value} {fence}"


def badge(text: object) -> str:
    """``text`` escaped for ``st.badge``, which escapes square brackets itself."""
    return plain(text).replace("\\[", "[").replace("\\]", "]")


def chart(text: object) -> str:
    """``text`` escaped for a plotly label (titles, hover texts, annotations, legend entries)."""
    return html.escape("" if text is None else str(text), quote=False)


def unescape(markdown: str) -> str:
    """What ``plain`` shows for ``markdown`` it produced (tests compare what people read)."""
    shown = markdown.replace(JOINER, "").replace("  \n", "\n")
    return re.sub(r"\\([\\`*_\[\]<>|~$&#+\-=.)])", r"\1", shown)
