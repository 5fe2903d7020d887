"""Golden tests of the note renderer on documents shaped exactly as y-prosemirror stores them.

Documents are ProseMirror JSON turned into a pycrdt tree the way y-prosemirror's
``prosemirrorJSONToYDoc`` does it (``build_doc`` below; a test checks it against the
real Node implementation): one ``XmlElement`` per node, named after the node type,
``null`` attributes left out, JS numbers as floats; consecutive text nodes share one
``XmlText`` whose formatting attributes are the marks.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from carnet.render import (
    FORMATS,
    Block,
    Break,
    CodeBlock,
    Heading,
    Inline,
    ListBlock,
    Paragraph,
    Quote,
    Rule,
    Text,
    html_from_blocks,
    mark_name,
    markdown_from_blocks,
    plain_text,
    read_fragment,
    render,
    render_html,
    render_markdown,
    render_text,
    safe_href,
)

JS_DIR = Path(__file__).parent / "js"
LINK_DEFAULTS = {
    "target": "_blank",
    "rel": "noopener noreferrer nofollow",
    "class": None,
    "title": None,
}

# ---------------------------------------------------------------------------
# Building documents as y-prosemirror does
# ---------------------------------------------------------------------------


def js(value: Any) -> Any:
    """A value as it comes back after a trip through JS (numbers are doubles)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: js(v) for k, v in value.items()}
    return [js(v) for v in value]


def build_doc(
    pm: dict[str, Any],
    *,
    suffix: dict[str, str] | None = None,
    text_extra: dict[str, Any] | None = None,
    element_extra: dict[str, Any] | None = None,
) -> Doc:
    """ProseMirror JSON → pycrdt Doc, as ``prosemirrorJSONToYDoc(schema, pm, 'default')``.

    ``suffix`` maps a mark name to the hash y-prosemirror appends to overlapping marks;
    ``text_extra`` / ``element_extra`` add attributes (e.g. ``ychange``) to every text
    run / element, to check that the renderer ignores them.
    """
    doc: Doc = Doc()
    fragment = doc.get("default", type=XmlFragment)

    def marks(node: dict[str, Any]) -> dict[str, Any]:
        attrs = {
            (
                f"{m['type']}--{suffix[m['type']]}" if suffix and m["type"] in suffix else m["type"]
            ): js(m.get("attrs", {}))
            for m in node.get("marks", [])
        }
        return {**attrs, **(text_extra or {})}

    def add_content(parent: XmlFragment | XmlElement, content: list[dict[str, Any]]) -> None:
        run: list[dict[str, Any]] = []
        for child in [*content, None]:
            if child is not None and child["type"] == "text":
                run.append(child)
                continue
            if run:
                text = parent.children.append(XmlText())
                for node in run:
                    text.insert(len(text), node["text"], marks(node))
                run = []
            if child is not None:
                element = parent.children.append(XmlElement(child["type"]))
                for key, value in {**child.get("attrs", {}), **(element_extra or {})}.items():
                    if value is not None:
                        element.attributes[key] = js(value)
                add_content(element, child.get("content", []))

    with doc.transaction():
        add_content(fragment, pm["content"])
    return doc


def t(text: str, *marks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "text", "text": text, **({"marks": list(marks)} if marks else {})}


def n(kind: str, *content: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": kind}
    if attrs:
        node["attrs"] = attrs
    if content:
        node["content"] = list(content)
    return node


def p(*content: dict[str, Any]) -> dict[str, Any]:
    return n("paragraph", *content)


def li(*content: dict[str, Any]) -> dict[str, Any]:
    return n("listItem", *content)


def pm_doc(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "content": list(content)}


BOLD = {"type": "bold"}
ITALIC = {"type": "italic"}
STRIKE = {"type": "strike"}
CODE = {"type": "code"}


def link(href: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": href, **LINK_DEFAULTS}}


def all_formats(doc: Doc) -> tuple[str, str, str]:
    return render(doc, "markdown"), render(doc, "html"), render(doc, "text")


# ---------------------------------------------------------------------------
# The main golden document
# ---------------------------------------------------------------------------

RICH = pm_doc(
    n("heading", t("Rencontre #3 : notes"), level=1),
    p(
        t("Notes prises "),
        t("en direct", BOLD),
        t(", avec "),
        t("emphase", ITALIC),
        t(", "),
        t("rature", STRIKE),
        t(", "),
        t("a`b", CODE),
        t(" et un "),
        t("lien", link("https://example.org/?a=1&b=2")),
        t("."),
        n("hardBreak"),
        t("Deuxième ligne : 2 * 3 = 6 [sic] _x_ <b>"),
    ),
    p(t("gras ", BOLD), t("les deux", BOLD, ITALIC), t(" italique", ITALIC)),
    n("heading", t("Ordre du jour"), level=2),
    n(
        "orderedList",
        li(p(t("Accueil"))),
        li(p(t("Ateliers")), n("bulletList", li(p(t("Atelier A"))), li(p(t("Atelier B"))))),
        start=3,
        type=None,
    ),
    n("bulletList", li(p(t("1. pas une liste"))), li(p(t("- ni ça")))),
    n("blockquote", p(t("Citation")), n("blockquote", p(t("imbriquée")))),
    n("codeBlock", t("def f():\n    return '```'"), language="python"),
    n("codeBlock", t("plain"), language=None),
    n("horizontalRule"),
    p(),
    p(t("Fin 🎉 "), t("ok", BOLD)),
)

RICH_MARKDOWN = """\
# Rencontre \\#3 : notes

Notes prises **en direct**, avec *emphase*, ~~rature~~, ``a`b`` et un \
[lien](https://example.org/?a=1&b=2).\\
Deuxième ligne : 2 \\* 3 = 6 \\[sic\\] \\_x\\_ \\<b>

**gras *les deux*** *italique*

## Ordre du jour

3. Accueil
4. Ateliers
   - Atelier A
   - Atelier B

- 1\\. pas une liste
- \\- ni ça

> Citation
>
> > imbriquée

````python
def f():
    return '```'
````

```
plain
```

---

Fin 🎉 **ok**
"""

RICH_HTML = """\
<h1>Rencontre #3 : notes</h1>
<p>Notes prises <strong>en direct</strong>, avec <em>emphase</em>, <s>rature</s>, \
<code>a`b</code> et un <a href="https://example.org/?a=1&amp;b=2" \
rel="noopener noreferrer nofollow">lien</a>.<br>\
Deuxième ligne : 2 * 3 = 6 [sic] _x_ &lt;b&gt;</p>
<p><strong>gras <em>les deux</em></strong><em> italique</em></p>
<h2>Ordre du jour</h2>
<ol start="3">
<li><p>Accueil</p></li>
<li><p>Ateliers</p>
<ul>
<li><p>Atelier A</p></li>
<li><p>Atelier B</p></li>
</ul></li>
</ol>
<ul>
<li><p>1. pas une liste</p></li>
<li><p>- ni ça</p></li>
</ul>
<blockquote>
<p>Citation</p>
<blockquote>
<p>imbriquée</p>
</blockquote>
</blockquote>
<pre><code class="language-python">def f():
    return &#x27;```&#x27;</code></pre>
<pre><code>plain</code></pre>
<hr>
<p></p>
<p>Fin 🎉 <strong>ok</strong></p>
"""

RICH_TEXT = """\
Rencontre #3 : notes

Notes prises en direct, avec emphase, rature, a`b et un lien.
Deuxième ligne : 2 * 3 = 6 [sic] _x_ <b>

gras les deux italique

Ordre du jour

3. Accueil
4. Ateliers
   - Atelier A
   - Atelier B

- 1. pas une liste
- - ni ça

> Citation
>
> > imbriquée

def f():
    return '```'

plain

---

Fin 🎉 ok
"""


def test_rich_document_golden() -> None:
    assert all_formats(build_doc(RICH)) == (RICH_MARKDOWN, RICH_HTML, RICH_TEXT)


def test_suffixed_marks_and_ychange_are_ignored() -> None:
    """Overlapping marks are stored as ``name--hash``; ``ychange`` is never a mark."""
    doc = build_doc(
        RICH,
        suffix={"link": "FtV7yb4M", "bold": "abc123", "italic": "x+/=Yz09"},
        text_extra={"ychange": {"user": "alice", "type": "added"}},
        element_extra={"ychange": {"user": "bob", "type": "removed"}},
    )
    assert all_formats(doc) == (RICH_MARKDOWN, RICH_HTML, RICH_TEXT)


def test_entry_points_agree() -> None:
    doc = build_doc(RICH)
    fragment = doc.get("default", type=XmlFragment)
    assert render_markdown(fragment) == RICH_MARKDOWN
    assert render_html(fragment) == RICH_HTML
    assert render_text(fragment) == RICH_TEXT
    assert plain_text(doc) == RICH_TEXT
    assert FORMATS == ("markdown", "html", "text")
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(doc, "pdf")


def test_empty_document() -> None:
    assert all_formats(Doc()) == ("", "", "")
    assert all_formats(build_doc(pm_doc(p()))) == ("", "<p></p>\n", "")


def test_float_and_odd_heading_levels() -> None:
    doc = build_doc(pm_doc(*(n("heading", t(str(lv)), level=lv) for lv in (2.0, 0, 9.0, 6))))
    fragment = doc.get("default", type=XmlFragment)
    with doc.transaction():
        extra = fragment.children.append(XmlElement("heading"))  # no level: default 1
        extra.children.append(XmlText("none"))
        text_level = fragment.children.append(XmlElement("heading", {"level": "3"}))
        text_level.children.append(XmlText("str"))
    assert render(doc, "html") == (
        "<h2>2.0</h2>\n<h1>0</h1>\n<h6>9.0</h6>\n<h6>6</h6>\n<h1>none</h1>\n<h3>str</h3>\n"
    )
    assert render(doc, "markdown") == (
        "## 2\\.0\n\n# 0\n\n###### 9\\.0\n\n###### 6\n\n# none\n\n### str\n"
    )


def test_lists_start_nesting_and_siblings() -> None:
    doc = build_doc(
        pm_doc(
            n(
                "orderedList",
                li(p(t("nine"))),
                li(p(t("ten")), n("orderedList", li(p(t("a"))), start=1.0)),
                start=9,
            ),
            n("orderedList", li(p(t("again"))), start=1),
            n("bulletList", li(p(t("one")), n("orderedList", li(p(t("deep"))), start=5))),
            n("bulletList", li(p(t("two")), p(t("second paragraph")))),
            n("bulletList", li(n("horizontalRule")), li()),
        )
    )
    markdown, html, text = all_formats(doc)
    assert markdown == (
        "9. nine\n"
        "10. ten\n"
        "    1. a\n"
        "\n"
        "1) again\n"  # a second list right after an ordered one switches delimiter
        "\n"
        "- one\n"
        "\n"  # a list starting at 5 cannot interrupt a paragraph: blank line
        "  5. deep\n"
        "\n"
        "* two\n"
        "\n"
        "  second paragraph\n"
        "\n"
        "+ ---\n"  # "- ---" would be one thematic break
        "+\n"
    )
    assert html == (
        '<ol start="9">\n<li><p>nine</p></li>\n<li><p>ten</p>\n<ol>\n<li><p>a</p></li>\n'
        "</ol></li>\n</ol>\n"
        "<ol>\n<li><p>again</p></li>\n</ol>\n"
        '<ul>\n<li><p>one</p>\n<ol start="5">\n<li><p>deep</p></li>\n</ol></li>\n</ul>\n'
        "<ul>\n<li><p>two</p>\n<p>second paragraph</p></li>\n</ul>\n"
        "<ul>\n<li><hr></li>\n<li></li>\n</ul>\n"
    )
    assert text == (
        "9. nine\n10. ten\n    1. a\n\n1. again\n\n- one\n\n  5. deep\n\n"
        "- two\n\n  second paragraph\n\n- ---\n-\n"
    )


def test_marks_across_hard_breaks_and_newlines() -> None:
    doc = build_doc(
        pm_doc(
            p(t("a", BOLD), n("hardBreak"), t("b", BOLD), t("\nc"), n("hardBreak")),
            n("heading", t("x"), n("hardBreak"), t("y"), level=3),
        )
    )
    assert all_formats(doc) == (
        "**a**\\\n**b**\\\nc\n\n### x y\n",
        "<p><strong>a</strong><br><strong>b</strong><br>c<br></p>\n<h3>x<br>y</h3>\n",
        "a\nb\nc\n\nx\ny\n",
    )


# ---------------------------------------------------------------------------
# Markdown escaping and code
# ---------------------------------------------------------------------------


def md_of(*content: dict[str, Any]) -> str:
    return render(build_doc(pm_doc(*content)), "markdown")


def test_markdown_escapes_special_characters() -> None:
    assert md_of(p(t("a*b_c[d]e#f`g\\h<i>j~k &amp; & ! |"))) == (
        "a\\*b\\_c\\[d\\]e\\#f\\`g\\\\h\\<i>j\\~k \\&amp; & ! |\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. not a list", "1\\. not a list"),
        ("12) nor this", "12\\) nor this"),
        ("- nor this", "\\- nor this"),
        ("+ nor this", "\\+ nor this"),
        ("> no quote", "\\> no quote"),
        ("# no heading", "\\# no heading"),
        ("===", "\\==="),
        ("---", "\\---"),
        ("***", "\\*\\*\\*"),
        ("```", "\\`\\`\\`"),
        ("    not code", "&#32;   not code"),
        ("trailing  ", "trailing &#32;"),
        ("2024. Une année", "2024\\. Une année"),
        ("mid 1. and - and > stay", "mid 1. and - and > stay"),
    ],
)
def test_markdown_escapes_line_starts(text: str, expected: str) -> None:
    assert md_of(p(t(text))) == expected + "\n"
    # after a hard break, a new line starts too
    assert md_of(p(t("x"), n("hardBreak"), t(text))) == "x\\\n" + expected + "\n"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x = 1", "`x = 1`"),
        ("a`b", "``a`b``"),
        ("a``b`", "``` a``b` ```"),
        ("`x", "`` `x ``"),
        (" a ", "`  a  `"),
        ("  ", "`  `"),
        ("*not* [escaped]", "`*not* [escaped]`"),
    ],
)
def test_markdown_code_spans(code: str, expected: str) -> None:
    assert md_of(p(t("see "), t(code, CODE))) == f"see {expected}\n"


def test_markdown_code_block_fences_and_language() -> None:
    assert md_of(n("codeBlock", t("a\n````\nb"), language="js")) == ("`````js\na\n````\nb\n`````\n")
    assert md_of(n("codeBlock", language="weird lang`")) == "```weirdlang\n```\n"
    # inside list items and quotes, every non-empty line is indented / prefixed
    assert md_of(n("bulletList", li(n("codeBlock", t("x\n\ny"))))) == "- ```\n  x\n\n  y\n  ```\n"
    assert md_of(n("blockquote", n("codeBlock", t("x\n\ny")))) == "> ```\n> x\n>\n> y\n> ```\n"


def test_markdown_links() -> None:
    assert md_of(p(t("un "), t("lien", link("/notes/a b(1)")), t("!"))) == (
        "un [lien](</notes/a b(1)>)!\n"
    )
    assert md_of(p(t("Attention !"), t("lien", link("https://x.org")))) == (
        "Attention \\![lien](https://x.org)\n"  # not an image
    )
    assert md_of(p(t("voir "), t("ici", link("mailto:a@b.org"), BOLD))) == (
        "voir [**ici**](mailto:a@b.org)\n"
    )


def test_markdown_emphasis_spacing_and_fallback() -> None:
    # spaces move out of the delimiters, so CommonMark still reads emphasis
    assert md_of(p(t("Note : ", BOLD), t("texte"))) == "**Note :** texte\n"
    assert md_of(p(t("x"), t(" mid ", ITALIC), t("y"))) == "x *mid* y\n"
    assert md_of(p(t("x "), t("  ", BOLD), t(" y"))) == "x    y\n"
    # inside a word CommonMark would not read "**": inline HTML keeps the mark
    assert md_of(p(t("a"), t("b", BOLD), t("c"))) == "a<strong>b</strong>c\n"
    assert md_of(p(t("le"), t("mot.", ITALIC, STRIKE), t("x"))) == "le<em><del>mot.</del></em>x\n"
    # underline has no Markdown form: text kept
    assert md_of(p(t("sous", {"type": "underline"}))) == "sous\n"


# ---------------------------------------------------------------------------
# HTML safety
# ---------------------------------------------------------------------------


def html_of(*content: dict[str, Any]) -> str:
    return render(build_doc(pm_doc(*content)), "html")


def test_html_escapes_text_and_attributes() -> None:
    assert html_of(p(t("<script>alert('x')</script> & \"q\""))) == (
        "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;</p>\n"
    )
    assert html_of(p(t("x", link('https://e.org/"><script>alert(1)</script>')))) == (
        '<p><a href="https://e.org/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" '
        'rel="noopener noreferrer nofollow">x</a></p>\n'
    )
    assert html_of(
        n(
            "codeBlock",
            t("</code></pre><img src=x onerror=alert(1)>"),
            language='x" onmouseover="alert(1)',
        )
    ) == (
        '<pre><code class="language-x&quot; onmouseover=&quot;alert(1)">'
        "&lt;/code&gt;&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;</code></pre>\n"
    )
    assert html_of(n("orderedList", li(p(t("x"))), start='"><script>')) == (
        "<ol>\n<li><p>x</p></li>\n</ol>\n"  # not a number: default start
    )


UNSAFE_HREFS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript&colon;alert(1)x:y",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "",
    "   ",
]


@pytest.mark.parametrize("href", UNSAFE_HREFS)
def test_unsafe_links_are_dropped_but_text_kept(href: str) -> None:
    doc = build_doc(pm_doc(p(t("avant "), t("clic", link(href)), t(" après"))))
    assert all_formats(doc) == (
        "avant clic après\n",
        "<p>avant clic après</p>\n",
        "avant clic après\n",
    )
    assert safe_href(href) is None


@pytest.mark.parametrize(
    "href",
    [
        "http://example.org",
        "HTTPS://example.org/a?b=c#d",
        "mailto:contact@example.org",
        "/notes/42",
        "#section",
        "?q=1",
        "../up",
        "page.html",
        "//example.org/path",
        "notes/a:b",
    ],
)
def test_safe_links_are_kept(href: str) -> None:
    html = html_of(p(t("x", link(href))))
    assert html == f'<p><a href="{href}" rel="noopener noreferrer nofollow">x</a></p>\n'
    assert safe_href(href) == href


def test_link_without_href_or_with_odd_value() -> None:
    doc: Doc = Doc()
    fragment = doc.get("default", type=XmlFragment)
    with doc.transaction():
        para = fragment.children.append(XmlElement("paragraph"))
        text = para.children.append(XmlText())
        text.insert(0, "a", {"link": {}})
        text.insert(1, "b", {"link": {"href": 42.0}})
        text.insert(2, "c", {"link": "https://not-an-object.org"})
    assert all_formats(doc) == ("abc\n", "<p>abc</p>\n", "abc\n")


# ---------------------------------------------------------------------------
# Robustness: unknown nodes and marks, odd attributes
# ---------------------------------------------------------------------------


def test_unknown_nodes_keep_their_text() -> None:
    doc = build_doc(
        pm_doc(
            n(
                "table",
                n("tableRow", n("tableCell", p(t("cell 1"))), n("tableCell", p(t("cell 2")))),
            ),
            n("details", n("detailsSummary", t("summary")), n("detailsContent", p(t("content")))),
            p(t("hi "), n("mention", t("@alice")), t(" !"), n("image", src="x.png")),
            n("taskList", n("taskItem", p(t("todo")), checked=False)),
        )
    )
    assert all_formats(doc) == (
        "cell 1\n\ncell 2\n\nsummary\n\ncontent\n\nhi @alice !\n\ntodo\n",
        "<p>cell 1</p>\n<p>cell 2</p>\n<p>summary</p>\n<p>content</p>\n"
        "<p>hi @alice !</p>\n<p>todo</p>\n",
        "cell 1\n\ncell 2\n\nsummary\n\ncontent\n\nhi @alice !\n\ntodo\n",
    )


def test_unknown_marks_are_ignored_known_ones_rendered() -> None:
    doc = build_doc(
        pm_doc(
            p(
                t("hl", {"type": "highlight", "attrs": {"color": "red"}}),
                t("u", {"type": "underline"}),
                t("s", {"type": "textStyle", "attrs": {"color": None}}),
            )
        )
    )
    assert all_formats(doc) == ("hlus\n", "<p>hl<u>u</u>s</p>\n", "hlus\n")


def test_stray_text_at_top_level_becomes_a_paragraph() -> None:
    doc: Doc = Doc()
    fragment = doc.get("default", type=XmlFragment)
    with doc.transaction():
        fragment.children.append(XmlText("loose *text*"))
        fragment.children.append(XmlElement("hardBreak"))
        fragment.children.append(XmlText("more"))
        fragment.children.append(XmlElement("horizontalRule"))
        fragment.children.append(XmlElement("listItem", contents=[XmlText("orphan item")]))
    assert all_formats(doc) == (
        "loose \\*text\\*\\\nmore\n\n---\n\norphan item\n",
        "<p>loose *text*<br>more</p>\n<hr>\n<p>orphan item</p>\n",
        "loose *text*\nmore\n\n---\n\norphan item\n",
    )


def test_mark_name_strips_overlap_suffix() -> None:
    assert mark_name("link--FtV7yb4M") == "link"
    assert mark_name("link--abc123") == "link"
    assert mark_name("bold") == "bold"
    assert mark_name("--weird") == "--weird"
    assert mark_name("a--b--c") == "a--b"


def test_read_fragment_model() -> None:
    doc = build_doc(
        pm_doc(
            n("heading", t("T", BOLD), level=2),
            p(t("a"), t("b", link("/x")), n("hardBreak")),
            n("bulletList", li(p(t("i")))),
        ),
        suffix={"link": "AAAAAAAA"},
    )
    blocks = read_fragment(doc.get("default", type=XmlFragment))
    assert blocks == (
        Heading(2, (Text("T", (("bold", ""),)),)),
        Paragraph((Text("a"), Text("b", (("link", "/x"),)), Break())),
        ListBlock(False, 1, ((Paragraph((Text("i"),)),),)),
    )


# ---------------------------------------------------------------------------
# Markdown re-parses to the same text and marks (markdown-it-py, a CommonMark parser)
# ---------------------------------------------------------------------------

MD = MarkdownIt("commonmark").enable("strikethrough")
TAG_MARK = {"strong": "bold", "em": "italic", "s": "strike", "del": "strike"}


def parsed_chars(source: str) -> list[tuple[str, frozenset[tuple[str, str]]]]:
    """Characters of the parsed paragraph(s), each with its marks."""
    from urllib.parse import unquote

    out: list[tuple[str, frozenset[tuple[str, str]]]] = []
    for token in MD.parse(source):
        if token.type != "inline":
            continue
        active: list[tuple[str, str]] = []
        for child in token.children or []:
            kind = child.type
            if kind == "link_open":
                active.append(("link", unquote(str(child.attrs["href"]))))
            elif kind.endswith("_open"):
                active.append((TAG_MARK[kind[:-5]], ""))
            elif kind.endswith("_close") or (kind == "html_inline" and child.content[1] == "/"):
                active.pop()
            elif kind == "html_inline":
                active.append((TAG_MARK[child.content[1:-1]], ""))
            elif kind == "text":
                out += [(c, frozenset(active)) for c in child.content]
            elif kind == "code_inline":
                out += [(c, frozenset([*active, ("code", "")])) for c in child.content]
            elif kind in ("softbreak", "hardbreak"):
                out.append(("\n", frozenset()))
            else:
                raise AssertionError(kind)
    return out


def expected_chars(inlines: list[Inline]) -> list[tuple[str, frozenset[tuple[str, str]]]]:
    out: list[tuple[str, frozenset[tuple[str, str]]]] = []
    for item in inlines:
        if isinstance(item, Break):
            out.append(("\n", frozenset()))
        else:
            out += [(c, frozenset(item.marks)) for c in item.text]
    while out and out[-1][0] == "\n":  # Markdown cannot end a paragraph with a break
        out.pop()
    return out


MARKS = [
    ("link", "https://x.org/"),
    ("link", "/a b"),
    ("bold", ""),
    ("italic", ""),
    ("strike", ""),
    ("code", ""),
]
pieces = st.sampled_from(
    [*"ab é*_[]#`\\<>&!~-+=.1)(\"'", "&amp;", "1.", "  ", "\t", "\n", "---", "    x"]
)
texts = st.lists(pieces, min_size=1, max_size=5).map("".join)
mark_sets = (
    st.sets(st.sampled_from(MARKS), max_size=3)
    .filter(lambda marks: len({name for name, _ in marks}) == len(marks))
    .map(lambda marks: tuple(sorted(marks, key=MARKS.index)))
)
inline_lists = st.lists(
    st.one_of(st.builds(Text, texts, mark_sets), st.just(Break())), min_size=1, max_size=6
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inline_lists)
def test_markdown_inline_round_trip(inlines: list[Inline]) -> None:
    source = markdown_from_blocks([Paragraph(tuple(inlines))])
    got = parsed_chars(source)
    flat: list[Inline] = []
    for item in inlines:  # a newline inside text is written as a hard break
        if isinstance(item, Text):
            for i, line in enumerate(item.text.split("\n")):
                flat += [Break()] if i else []
                flat += [Text(line, item.marks)] if line else []
        else:
            flat.append(item)
    want = expected_chars(flat)
    assert "".join(c for c, _ in got) == "".join(c for c, _ in want), source
    # marks on whitespace at a mark's edge move outside it; all other characters keep theirs
    assert [m for c, m in got if not c.isspace()] == [m for c, m in want if not c.isspace()], source


def simplified(blocks: tuple[Block, ...] | list[Block]) -> list[Any]:
    out: list[Any] = []
    for block in blocks:
        match block:
            case Paragraph(content):
                text = "".join(i.text if isinstance(i, Text) else "\n" for i in content)
                if text.strip("\n"):
                    out.append(("p", text.rstrip("\n")))
            case Heading(level, content):
                out.append(("h", level, "".join(i.text for i in content if isinstance(i, Text))))
            case CodeBlock(language, text):
                out.append(("code", language or "", text + "\n" if text else ""))
            case Rule():
                out.append(("hr",))
            case Quote(inner):
                out.append(("quote", simplified(inner)))
            case ListBlock(ordered, start, items):
                out.append(
                    ("list", ordered, start if ordered else 1, [simplified(item) for item in items])
                )
    return out


def parsed_blocks(source: str) -> list[Any]:
    tokens = MD.parse(source)
    pos = 0

    def inline(token: Any) -> str:
        return "".join(
            c.content if c.type in ("text", "code_inline") else "\n"
            for c in token.children
            if c.type in ("text", "code_inline", "softbreak", "hardbreak")
        )

    def blocks(stop: str | None) -> list[Any]:
        nonlocal pos
        out: list[Any] = []
        while pos < len(tokens) and tokens[pos].type != stop:
            token = tokens[pos]
            if token.type == "paragraph_open":
                out.append(("p", inline(tokens[pos + 1])))
                pos += 3
            elif token.type == "heading_open":
                out.append(("h", int(token.tag[1]), inline(tokens[pos + 1])))
                pos += 3
            elif token.type == "fence":
                out.append(("code", token.info, token.content))
                pos += 1
            elif token.type == "hr":
                out.append(("hr",))
                pos += 1
            elif token.type == "blockquote_open":
                pos += 1
                out.append(("quote", blocks("blockquote_close")))
                pos += 1
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                ordered = token.type == "ordered_list_open"
                start = int(token.attrs.get("start", 1)) if ordered else 1
                pos += 1
                items = []
                while tokens[pos].type == "list_item_open":
                    pos += 1
                    items.append(blocks("list_item_close"))
                    pos += 1
                pos += 1
                out.append(("list", ordered, start, items))
            else:
                raise AssertionError(token.type)
        return out

    return blocks(None)


block_texts = st.lists(pieces.filter(lambda s: "\n" not in s), max_size=4).map("".join)
leaves = st.one_of(
    st.lists(st.one_of(st.builds(Text, texts), st.just(Break())), max_size=3).map(
        lambda content: Paragraph(tuple(content))
    ),
    st.builds(
        Heading,
        st.integers(1, 6),
        st.lists(st.builds(Text, block_texts.filter(bool)), max_size=2).map(tuple),
    ),
    st.builds(CodeBlock, st.sampled_from([None, "python", "c++"]), texts),
    st.just(Rule()),
)
block_trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda inner: Quote(tuple(inner))),
        st.builds(
            ListBlock,
            st.booleans(),
            st.integers(0, 12),
            st.lists(st.lists(children, max_size=3).map(tuple), min_size=1, max_size=3).map(tuple),
        ),
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(block_trees, max_size=4))
def test_markdown_block_round_trip(blocks: list[Block]) -> None:
    source = markdown_from_blocks(blocks)
    assert parsed_blocks(source) == simplified(blocks), source


def test_html_from_blocks_matches_render_html() -> None:
    doc = build_doc(RICH)
    assert html_from_blocks(read_fragment(doc.get("default", type=XmlFragment))) == RICH_HTML


# ---------------------------------------------------------------------------
# A real Yjs client: Tiptap schema + y-prosemirror in Node
# ---------------------------------------------------------------------------


def node_update(pm: dict[str, Any], *flags: str) -> bytes:
    if not (JS_DIR / "node_modules").is_dir():
        pytest.fail("tests/js/node_modules missing: `make test` runs `npm ci` in tests/js")
    node = shutil.which("node")
    assert node is not None, "node is required for the real Yjs client test"
    result = subprocess.run(
        [node, str(JS_DIR / "make_prosemirror_update.mjs"), *flags],
        input=json.dumps(pm),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stderr == ""
    return base64.b64decode(result.stdout)


def dump(node: XmlFragment | XmlElement | XmlText) -> Any:
    """A comparable picture of a y-prosemirror tree (attribute order does not matter)."""
    if isinstance(node, XmlText):
        return ("text", [(chunk, sorted((attrs or {}).items())) for chunk, attrs in node.diff()])
    if isinstance(node, XmlElement):
        attrs = sorted(iter(node.attributes))
        return (node.tag, attrs, [dump(child) for child in node.children])
    return [dump(child) for child in node.children]


def test_real_yjs_client_document() -> None:
    update = node_update(RICH)
    doc: Doc = Doc()
    doc.apply_update(update)
    assert all_formats(doc) == (RICH_MARKDOWN, RICH_HTML, RICH_TEXT)
    # build_doc, used by every other test here, builds exactly what y-prosemirror builds
    mine = build_doc(RICH)
    assert dump(doc.get("default", type=XmlFragment)) == dump(mine.get("default", type=XmlFragment))


def test_real_yjs_client_overlapping_links() -> None:
    """With ``excludes: ''`` y-prosemirror stores the link as ``link--<8-char hash>``."""
    doc: Doc = Doc()
    doc.apply_update(node_update(RICH, "--overlapping-links"))
    fragment = doc.get("default", type=XmlFragment)
    para = list(fragment.children)[1]
    assert isinstance(para, XmlElement)
    first = next(iter(para.children))
    assert isinstance(first, XmlText)
    names = {name for _, attrs in first.diff() for name in (attrs or {})}
    assert any(name.startswith("link--") and len(name) == len("link--") + 8 for name in names)
    assert all_formats(doc) == (RICH_MARKDOWN, RICH_HTML, RICH_TEXT)
