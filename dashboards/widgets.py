"""Small page pieces shared by the dashboard and the classroom: text rendered on the server, so that no
page fetches a Markdown or math renderer from outside (solara.Markdown would fetch KaTeX from a CDN)."""

from __future__ import annotations

import markdown
import solara


def Table(markdown_text: str):
    """A Markdown table as HTML, rendered here (solara.Markdown would fetch KaTeX from a CDN)."""
    return solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown(markdown_text, extensions=["tables"]),
                       classes=["ma-table"])


def Prose(text: str, classes=()):
    """Plain-language text with **bold** and *italic* (no Markdown renderer: it would fetch KaTeX from a CDN)."""
    import html
    import re

    body = html.escape(text)
    body = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", body)
    body = re.sub(r"\*(.+?)\*", r"<i>\1</i>", body)
    body = re.sub(r"`(.+?)`", r"<code>\1</code>", body)
    return solara.HTML(tag="div", unsafe_innerHTML=body, classes=list(classes), style={"line-height": "1.5"})
