"""Inline markup out of shown text: snippets and the preview read as the rendered page does."""

from __future__ import annotations

from localsearch.search.inline_markup import strip_inline_markup
from localsearch.search.snippet import make_snippet

RST = """Creating reStructuredText_ Directives
=====================================

See the `Docutils docs <https://x.org>`_ and ``literal code`` with :class:`Node`,
:pep:`287 <pep-0287>`, *emphasis*, **strong**, `interpreted`, |sub| and a note [1]_.
__init__, snake_case_names, 2*3*4 and f(*args, **kwargs) stay as they are.
Here is code::

    x = ``raw`` and `y`_ stay

Back to *prose* Foo__.

.. code-block:: python

   print(`a`_)

.. note:: A note with ``lit``.
"""

RST_SHOWN = """Creating reStructuredText Directives
=====================================

See the Docutils docs and literal code with Node,
287, emphasis, strong, interpreted, sub and a note [1].
__init__, snake_case_names, 2*3*4 and f(*args, **kwargs) stay as they are.
Here is code::

    x = ``raw`` and `y`_ stay

Back to prose Foo.

.. code-block:: python

   print(`a`_)

.. note:: A note with lit.
"""

MD = """# Title **bold**
Some **bold**, *it*, _it2_, __b2__, `code`, ``a`b``, [a link](http://x) and ![img](a.png),
<https://example.org>, snake_case and 2*3*4.

```python
x = `y` **kw
```
    indented `code`
"""

MD_SHOWN = """# Title bold
Some bold, it, it2, b2, code, a`b, a link and img,
https://example.org, snake_case and 2*3*4.

```python
x = `y` **kw
```
    indented `code`
"""


def test_rst_inline_markup_goes_and_literal_blocks_stay() -> None:
    assert strip_inline_markup(RST, "rst") == RST_SHOWN


def test_markdown_inline_markup_goes_and_code_stays() -> None:
    assert strip_inline_markup(MD, "md") == MD_SHOWN


def test_other_types_are_left_as_they_are() -> None:
    assert strip_inline_markup("def f(**kwargs): return `x`", "py") == (
        "def f(**kwargs): return `x`"
    )


def test_snippet_highlights_point_into_the_cleaned_text() -> None:
    snippet = make_snippet("The **turbine** and ``turbine_blade`` parts", "turbine", doc_type="rst")
    assert snippet.text == "The turbine and turbine_blade parts"
    assert [snippet.text[a:b] for a, b in snippet.highlights][0] == "turbine"


def test_strong_and_emphasis_inside_cjk_text_go() -> None:
    # CJK text has no spaces around a bold word; the marks stayed in every snippet.
    text = "信道被**关闭**（closed）了，*必须*重新打开。再起動が**必要**です。 2*3*4 と **kwargs"
    assert strip_inline_markup(text, "md") == (
        "信道被关闭（closed）了，必须重新打开。再起動が必要です。 2*3*4 と **kwargs"
    )
