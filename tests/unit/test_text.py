"""Registry text shown literally: what the escaping helpers of app/components/text.py promise.
(The browser proof, that nothing hostile renders or loads, is tests/e2e/test_text_is_text.py.)"""

from __future__ import annotations

import re

import pytest

from app.components.text import JOINER, badge, chart, code, emphasised, plain, unescape

HOSTILE = [
    "![x](http://127.0.0.2/p.png)",
    "[link](http://127.0.0.2/)",
    '<img src="http://127.0.0.2/x.png"> <b>raw</b> &lt;entity&gt;',
    "**bold** _it_ ~~gone~~ `code` $x^2$ | a | b |",
    ":red[red] :material/home: :smile:",
    "owner@example.com www.example.com https://example.com/x",
    "# heading\n> quote\n- item\n+ item\n1. one\n12) twelve\n===\n---",
    "back\\slash \\*not\\* escaped",
    "Robert'); DROP TABLE model;--",
    "Credit scoring v2.1 (EU): approve above 0.69",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_reads_back_as_written(text: str) -> None:
    assert unescape(plain(text)) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_leaves_no_markdown_construct(text: str) -> None:
    escaped = plain(text).replace(JOINER, "")
    assert not re.search(r"(?<!\\)[\[\]<>`*_|~$&]", escaped)  # every inline marker escaped
    assert not re.search(r"(^|\n)\s*([#>+=-]|\d+[.)])", escaped)  # no block marker starts a line
    assert "](" not in escaped.replace("\\]", "")


def test_autolinks_icons_and_emoji_are_broken_by_an_invisible_joiner() -> None:
    out = plain("mail owner@example.com, see https://example.com or www.example.com :material/home: :smile:")
    assert f"owner{JOINER}@example.com" in out
    assert f"https:{JOINER}//example.com" in out and f"www{JOINER}.example.com" in out
    assert f":{JOINER}material/home:" in out and f":{JOINER}smile:" in out


def test_ordinary_sentences_are_left_as_they_are() -> None:
    for sentence in (
        "Added Rita Retail.",
        "reduced from 4×2 to 2×2: name the mitigations",
        "Checked june.csv: 25% (1 of 4).",
    ):
        assert plain(sentence) == sentence


def test_line_breaks_stay_and_indentation_cannot_make_code() -> None:
    assert plain("first\n    second") == "first  \nsecond"


def test_code_span_cannot_be_closed_by_the_text() -> None:
    assert code('steward explain --model "a`b"') == '`` steward explain --model "a`b" ``'
    assert code("plain") == "` plain `"


def test_emphasised_keeps_only_the_cores_bold_spans() -> None:
    assert emphasised("Did this happen: **default ![x](http://h/p.png)**?") == (
        "Did this happen: **default !\\[x\\](http:" + JOINER + "//h/p.png)**?"
    )
    assert emphasised("an unpaired ** stays text") == "an unpaired \\*\\* stays text"


def test_badge_leaves_square_brackets_to_streamlit() -> None:
    assert badge("[a] *b*") == "[a] \\*b\\*"


def test_chart_labels_escape_html() -> None:
    assert (
        chart('<a href="http://127.0.0.2/">x</a> & y')
        == '&lt;a href="http://127.0.0.2/"&gt;x&lt;/a&gt; &amp; y'
    )
