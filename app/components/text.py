"""Registry text shown in markdown: escaped so a name or comment never becomes formatting or a link."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def plain(text: str) -> str:
    """``text`` with every markdown character escaped: shown exactly as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
