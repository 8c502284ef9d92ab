"""Turn untrusted catalog markup into plain text.

Product fields often carry seller HTML (A+ content, ``<br>``, entities, even ``<script>``). We never
render or execute any of it: the stdlib ``html.parser`` walks the tags, keeps the text, drops the
content of script/style/template elements and turns block elements into line breaks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = {"script", "style", "template", "noscript", "head", "title", "iframe", "object", "svg"}
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "article", "header", "footer", "blockquote", "hr", "dd", "dt",
}  # fmt: skip
_SPACES = re.compile(r"[ \t\f\v\u00a0\u200b]+")
_BLANKS = re.compile(r"\n\s*\n+")
_TAG_OR_ENTITY = re.compile(r"<[A-Za-z!/?]|&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]{2,8});")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def has_markup(text: str) -> bool:
    """True when ``text`` contains something that looks like a tag or an HTML entity."""
    return bool(_TAG_OR_ENTITY.search(text))


def strip_html(text: str) -> str:
    """Plain text of ``text``: tags removed, entities decoded, scripts and styles dropped."""
    if not has_markup(text):
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def clean_text(text: str, *, keep_newlines: bool = False) -> str:
    """``strip_html`` plus whitespace normalisation (one line, or paragraphs when ``keep_newlines``)."""
    text = strip_html(text).replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines:
        return " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


__all__ = ["clean_text", "has_markup", "strip_html"]
