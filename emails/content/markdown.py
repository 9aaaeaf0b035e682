"""Email copy (Markdown with merge fields, emails/content/merge.py) into the HTML blocks the MJML layout places and
the email's text part, both from the same parsed Markdown.

The dialect is CommonMark (markdown-it-py) with GitHub tables, raw HTML switched off, and three email touches:
- a link followed by `{.button}`, alone in its paragraph: the call-to-action button, placed by the layout;
- a quote (`> ...`): the highlighted box of the day's mistake to avoid;
- a paragraph ending in `{.small}`: small print;
- a table: labelled rows (the first column is the label), e.g. the steps of the routine. Email tables have no
  header row, so the table's first row is an ordinary row.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from emails.content.merge import (
    BUTTON_MARK,
    LINK_SCHEME,
    SMALL_MARK,
    Values,
    block_token,
    fold_tagged_links,
    merge,
    split_tagged,
)
from emails.content.text import CopyText

STEPS_TABLE = '<table class="steps" role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%">\n'
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


@dataclass(frozen=True)
class Button:
    label: str
    url: str


@dataclass(frozen=True)
class RenderedCopy:
    """One email's copy, merged and rendered: what the layout needs, and the text part's body (no footer)."""

    subject: str
    preheader: str
    content_html: str  # before the button
    button: Button | None
    after_html: str  # after the button
    text: str


def markdown_escape(value: str) -> str:
    """A value merged into Markdown stays literal text: "*Ann*" is not emphasis, "<b>" is not a tag."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", value)


def _cell(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    first = idx == 0 or tokens[idx - 1].type == "tr_open"
    return '<td class="label">' if first else "<td>"


def _paragraph_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    if tokens[idx].hidden:
        return ""  # the paragraph of a tight list item
    css_class = tokens[idx].attrGet("class")
    return f'<p class="{css_class}">' if css_class else "<p>"


_FIXED = {
    "table_open": STEPS_TABLE, "table_close": "</table>\n", "thead_open": "", "thead_close": "",
    "tbody_open": "", "tbody_close": "", "tr_open": "<tr>", "tr_close": "</tr>\n", "th_close": "</td>",
    "td_close": "</td>", "blockquote_open": "", "blockquote_close": "",
}


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    for name, html in _FIXED.items():
        md.add_render_rule(name, lambda self, tokens, idx, options, env, html=html: html)
    md.add_render_rule("th_open", _cell)
    md.add_render_rule("td_open", _cell)
    md.add_render_rule("paragraph_open", _paragraph_open)
    return md


def _trailing_mark(inline: Token, mark: str) -> bool:
    """Strip `mark` from the end of an inline token's last text; True when it was there."""
    children = inline.children or []
    if not children or children[-1].type != "text" or not children[-1].content.endswith(mark):
        return False
    last = children[-1]
    last.content = last.content[: -len(mark)].rstrip()
    if not last.content:
        children.pop()
    return True


def _is_button(tokens: list[Token], i: int) -> bool:
    if tokens[i].type != "paragraph_open" or i + 1 >= len(tokens):
        return False
    children = tokens[i + 1].children or []
    return (len(children) >= 4 and children[0].type == "link_open" and children[-2].type == "link_close"
            and children[-1].type == "text" and children[-1].content.strip() == BUTTON_MARK
            and all(c.type not in ("link_open", "link_close") for c in children[1:-2]))


def _named_link(values: Values, name: str) -> str:
    try:
        return values.links[name]  # a lazy mapping may make the URL only now
    except KeyError:
        link, tag = split_tagged(name)
        # Values that know no tagged links (the editor's samples) show the plain link.
        return _named_link(values, link) if tag else ""


def _resolve_links(tokens: list[Token], values: Values) -> None:
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
                if href.startswith(LINK_SCHEME):
                    child.attrSet("href", _named_link(values, href[len(LINK_SCHEME):]))


def _mark_blocks(tokens: list[Token]) -> None:
    """Quotes become the highlighted box, `{.small}` paragraphs small print."""
    depth = 0
    for i, token in enumerate(tokens):
        if token.type == "blockquote_open":
            depth += 1
        elif token.type == "blockquote_close":
            depth -= 1
        elif token.type == "paragraph_open":
            if depth:
                token.attrSet("class", "mistake")
            elif _trailing_mark(tokens[i + 1], SMALL_MARK):
                token.attrSet("class", "small")


# --- The text part ------------------------------------------------------------------------------------------------

def _inline_text(inline: Token) -> str:
    out: list[str] = []
    href = ""
    link_start = 0
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "image":
            out.append(child.content)
        elif child.type == "link_open":
            href, link_start = str(child.attrGet("href") or ""), len(out)
        elif child.type == "link_close":
            label = "".join(out[link_start:])
            if href and href != label:
                out.append(f" ({href})")
    return "".join(out)


def _text_blocks(tokens: list[Token]) -> list[str]:
    blocks: list[str] = []
    lists: list[list[Any]] = []  # [ordered?, next number, lines]
    row: list[str] = []
    heading = ""
    for i, token in enumerate(tokens):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1)
            lists.append([kind == "ordered_list_open", start, []])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            _ordered, _number, lines = lists.pop()
            if lists:
                lists[-1][2].extend("   " + line for line in lines)
            else:
                blocks.append("\n".join(lines))
        elif kind == "heading_open":
            heading = token.tag
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            blocks.append(": ".join(cell for cell in row if cell))
        elif kind == "inline":
            text = _inline_text(token)
            parent = tokens[i - 1].type
            if parent in ("th_open", "td_open"):
                row.append(text)
            elif parent == "heading_open":
                blocks.append(text if heading == "h1" else text.upper())
            elif lists:
                ordered, number, lines = lists[-1]
                prefix = f"{number}. " if ordered else "- "
                if tokens[i - 2].type == "list_item_open":
                    lists[-1][1] += 1
                    lines.append(prefix + text.replace("\n", "\n" + " " * len(prefix)))
                else:
                    lines.append(" " * len(prefix) + text)
            else:
                blocks.append(text)
        elif kind in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
        elif kind == "hr":
            blocks.append("---")
    return blocks


# --- Both parts ---------------------------------------------------------------------------------------------------

def render_body(body: str, values: Values) -> tuple[str, Button | None, str, str]:
    """(content HTML, button, after-button HTML, text) of a body merged with `values`."""
    merged = fold_tagged_links(merge(body, values, escape=markdown_escape))
    md = parser()
    tokens = md.parse(merged)
    _resolve_links(tokens, values)
    _mark_blocks(tokens)
    button: Button | None = None
    split = len(tokens)
    for i in range(len(tokens)):
        if _is_button(tokens, i):
            children = tokens[i + 1].children or []
            button = Button(label="".join(c.content for c in children[1:-2]), url=str(children[0].attrGet("href")))
            split = i
            break
    before, after = tokens[:split], tokens[split + 3:] if button else []
    text_blocks = _text_blocks(before)
    if button:
        text_blocks.append(f"{button.label}: {button.url}" if button.url else button.label)
    text_blocks += _text_blocks(after)
    content_html = md.renderer.render(before, md.options, {})
    after_html = md.renderer.render(after, md.options, {})
    text = "\n\n".join(block for block in text_blocks if block.strip())
    for name, (block_html, block_text) in values.blocks.items():
        token = block_token(name)
        content_html = content_html.replace(f"<p>{token}</p>\n", block_html)
        after_html = after_html.replace(f"<p>{token}</p>\n", block_html)
        text = text.replace(token, block_text)
    return content_html, button, after_html, text


def render_copy(copy: CopyText, values: Values) -> RenderedCopy:
    content_html, button, after_html, text = render_body(copy.body, values)
    return RenderedCopy(subject=" ".join(merge(copy.subject, values).split()),
                        preheader=" ".join(merge(copy.preheader, values).split()),
                        content_html=content_html, button=button, after_html=after_html, text=text)
