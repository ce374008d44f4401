"""Chinese and Japanese text: analysis per chunk, BM25 over segmented words, snippets and the
query generator on segmented text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import index_files, run_cli

from localsearch.config import load_settings
from localsearch.language import analysis_signature, cjk_terms, detect_language
from localsearch.language.analysis import bigrams
from localsearch.lexical import LexicalIndex
from localsearch.search.engine import SearchEngine
from localsearch.search.snippet import make_snippet

DOCS = {
    "negatives.md": "# 难负样本挖掘\n\n训练双编码器时，我们先用 BM25 检索候选，再用交叉编码器给每个"
    "候选打分，分数高于阈值的硬负样本被丢弃，因为它们很可能是没有标注的正例。"
    "配置项 `margin_threshold` 控制这个阈值。\n",
    "cooking.md": "# 红烧肉\n\n五花肉切块，冷水下锅焯水，再加冰糖炒出糖色，小火慢炖一个小时。\n",
    "vue.md": "# コンポーネントの登録\n\nコンポーネントはグローバルに登録することも、"
    "ローカルに登録することもできます。`app.component()` メソッドを使います。\n",
    "english.md": "# Tidal power\n\nTidal turbines turn the rise and fall of the sea into"
    " electricity.\n",
}


@pytest.fixture(scope="module")
def cjk_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return index_files(tmp_path_factory.mktemp("cjk"), DOCS)


def search_json(home: Path, capsys, *args: str) -> dict:
    code, out, err = run_cli(["search", *args, "--home", str(home), "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


# -- analysis ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("plain English text, with 1 number", "en"),
        ("Ünïcödé café naïve", "en"),
        ("多个相互依赖的 crate 放在同一个项目里", "zh"),
        ("コンポーネントを登録する", "ja"),
        ("漢字だけでなく、ひらがなも使う日本語の文", "ja"),
        ("한국어 텍스트 검색", "cjk"),
    ],
)
def test_detect_language_by_script(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_chinese_is_segmented_into_words_with_english_identifiers_kept() -> None:
    terms = cjk_terms("多个相互依赖的 crate 放在同一个项目里，共用 Cargo.lock 和编译输出目录")
    assert {"相互依赖", "依赖", "crate", "cargo", "lock", "编译", "输出", "目录"} <= set(terms)
    assert "的" not in terms  # a function word


def test_japanese_is_segmented_into_words() -> None:
    terms = cjk_terms("ユーザーが入力した HTML をそのまま表示しても大丈夫？")
    assert {"ユーザー", "入力", "html", "表示", "大丈夫"} <= set(terms)
    assert "が" not in terms and "を" not in terms


def test_other_cjk_text_falls_back_to_bigrams() -> None:
    assert bigrams("검색엔진") == ["검색", "색엔", "엔진"]
    assert cjk_terms("검색엔진 API") == ["검색", "색엔", "엔진", "api"]


def test_full_width_letters_meet_their_usual_form() -> None:
    assert cjk_terms("ＡＰＩ 文档") == ["api", "文档"]


# -- BM25 -------------------------------------------------------------------------------------


def test_bm25_finds_a_multi_word_chinese_query(cjk_index, capsys) -> None:
    """The query of issue 14: under en_stem alone it found nothing."""
    _, home = cjk_index
    results = search_json(home, capsys, "硬负样本 交叉编码器 阈值", "--mode", "bm25")["results"]
    assert [Path(r["path"]).name for r in results][:1] == ["negatives.md"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("交叉编码器怎么打分", "negatives.md"),
        ("margin_threshold", "negatives.md"),
        ("冰糖", "cooking.md"),
        ("コンポーネントをグローバルに登録", "vue.md"),
        ("tidal turbines", "english.md"),
    ],
)
def test_bm25_finds_chinese_japanese_and_mixed_text(cjk_index, capsys, query, expected) -> None:
    _, home = cjk_index
    results = search_json(home, capsys, query, "--mode", "bm25")["results"]
    assert results and Path(results[0]["path"]).name == expected


WIDTHS = {
    "zenkaku.md": "# 公開\n\nこのプロジェクトはＧｉｔＨｕｂで公開されています。\n",
    "hankaku.md": "# 公開\n\nこのプロジェクトはGitHubで公開されています。\n",
    "notes.md": "# Notes\n\nThe ＦＡＱ lives on the wiki.\n",
    "english.md": DOCS["english.md"],
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("GitHub", {"zenkaku.md", "hankaku.md"}),
        ("ＧｉｔＨｕｂ", {"zenkaku.md", "hankaku.md"}),
        ("github 公開", {"zenkaku.md", "hankaku.md"}),
        ("faq", {"notes.md"}),
        ("ＦＡＱ", {"notes.md"}),
    ],
)
def test_a_word_in_full_width_or_inside_cjk_text_is_found_as_typed(
    tmp_path, capsys, query, expected
) -> None:
    # A Latin word written into Japanese text ("GitHubで") was one token with the kana around
    # it for the English fields, which English queries alone searched; full-width letters
    # (an IME's "ＧｉｔＨｕｂ") were matched by nothing but the same full-width spelling.
    _, home = index_files(tmp_path, WIDTHS)
    results = search_json(home, capsys, query, "--mode", "bm25")["results"]
    assert {Path(r["path"]).name for r in results} == expected


def test_each_chunk_records_its_language(cjk_index) -> None:
    _, home = cjk_index
    lexical = LexicalIndex(load_settings(home).lexical_dir)
    index = lexical._open()
    index.reload()
    searcher = index.searcher()
    languages = {}
    for path_word in ("negatives", "vue", "english"):
        query = index.parse_query(path_word, ["path"])
        _, address = searcher.search(query, 1).hits[0]
        languages[path_word] = searcher.doc(address)["language"][0]
    assert languages == {"negatives": "zh", "vue": "ja", "english": "en"}


def test_another_analyser_rebuilds_bm25_from_sqlite(tmp_path, monkeypatch) -> None:
    _, home = index_files(tmp_path, {"a.md": DOCS["negatives.md"]})
    settings = load_settings(home)
    lexical = LexicalIndex(settings.lexical_dir)
    assert lexical.synced_version() is not None
    state = json.loads(lexical.state_path.read_text())
    assert state["analysis"] == analysis_signature()
    state["analysis"] = "v0 zh=bigram ja=bigram"
    lexical.state_path.write_text(json.dumps(state))
    assert lexical.synced_version() is None
    engine = SearchEngine(settings)
    try:
        hits = engine.search("交叉编码器", mode="bm25").hits
    finally:
        engine.close()
    assert [Path(h.path).name for h in hits] == ["a.md"]
    assert json.loads(lexical.state_path.read_text())["analysis"] == analysis_signature()


# -- snippets ---------------------------------------------------------------------------------


def test_cjk_snippet_highlights_the_matched_words_and_cuts_at_characters() -> None:
    text = (
        "第一段没有关系的文字。" * 20
        + "Rust 的 Rc<T> 类型允许一个值有多个所有者，这在单线程程序里很有用。"
        + "后面的文字同样没有关系。" * 30
    )
    snippet = make_snippet(text, "单线程程序里让一个值同时有多个所有者", max_chars=120)
    marked = [snippet.text[a:b] for a, b in snippet.highlights]
    assert "多个所有者" in marked and "单线程程序" in marked
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    body = snippet.text[1:-1]
    start = text.index(body)
    # Cut after sentence marks, not mid-sentence, where one is near.
    assert text[start - 1] == "。" and body.endswith("。")


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ("github", ["ＧｉｔＨｕｂ"]),
        ("ＧｉｔＨｕｂ", ["ＧｉｔＨｕｂ"]),
        ("Teleport ｂｏｄｙ", ["body", "Teleport"]),
        ("カタカナ", ["ｶﾀｶﾅ"]),
        ("ｶﾀｶﾅ", ["ｶﾀｶﾅ"]),
    ],
)
def test_snippets_mark_words_in_any_width(query, marked) -> None:
    text = "このプロジェクトはＧｉｔＨｕｂで公開。ﾊﾝｶｸｶﾀｶﾅの説明。The body of Teleport."
    snippet = make_snippet(text, query)
    assert snippet.text == text
    assert [text[a:b] for a, b in snippet.highlights] == marked


def test_japanese_snippet_in_search_results(cjk_index, capsys) -> None:
    _, home = cjk_index
    hit = search_json(home, capsys, "グローバルに登録", "--mode", "bm25")["results"][0]
    marked = {hit["snippet"][a:b] for a, b in hit["highlights"]}
    assert {"グローバル", "登録"} <= marked


def test_english_snippets_unchanged() -> None:
    snippet = make_snippet("The indexing of files is fast. " * 20, "index files", max_chars=80)
    assert (
        snippet.text
        == "The indexing of files is fast. The indexing of files is fast. The indexing of…"
    )
    assert [snippet.text[a:b] for a, b in snippet.highlights] == [
        "indexing",
        "files",
        "indexing",
        "files",
        "indexing",
    ]


# -- the model-free query generator -----------------------------------------------------------


def test_query_generator_makes_keyword_queries_of_segmented_words() -> None:
    from types import SimpleNamespace

    from localsearch.adapt.queries import generate_structural_queries

    texts = [
        "线程之间通过通道发送消息。通道有发送端和接收端，发送端发送消息，接收端接收消息。",
        "通道的接收端在线程中等待消息，线程结束后通道关闭。消息按发送顺序到达接收端。",
        "共享状态的并发使用互斥器。互斥器一次只允许一个线程访问数据，线程先获取锁。",
        "互斥器的锁在离开作用域时释放，线程之间共享互斥器需要原子引用计数。",
    ]
    chunks = [
        SimpleNamespace(
            id=i, document_id=i, ordinal=0, text=t, heading="", path=f"{i}.md", title=""
        )
        for i, t in enumerate(texts)
    ]
    queries = generate_structural_queries(chunks, kinds=["keywords"])
    assert queries and all(q.kind == "keywords" for q in queries)
    words = [w for q in queries for w in q.query.split()]
    assert {"通道", "消息", "互斥器", "线程"} & set(words)
    assert all(2 <= len(w) <= 4 for w in words), words


def test_tui_preview_marks_cjk_words() -> None:
    from localsearch.search.snippet import QueryMatcher
    from localsearch.tui.widgets.preview import mark_words

    text = "线程之间通过通道发送消息。"
    marked = mark_words(text, QueryMatcher("用通道发消息"), "bold")
    assert [text[span.start : span.end] for span in marked.spans] == ["通道", "消息"]


@pytest.mark.parametrize(
    ("query", "multilingual", "weight"),
    [
        ("线程之间 通道", True, 0.75),  # a multilingual model's dense side leads on CJK text
        ("线程之间 通道", False, 0.125),  # an English model's is mostly noise there
        ("Teleport モーダル", True, 0.75),
        ("thread channels", True, 0.5),  # English queries keep the configured weight
        ("thread channels", False, 0.5),
    ],
)
def test_dense_weight_of_a_query_by_its_script_and_the_model(query, multilingual, weight) -> None:
    from localsearch.search.language_weights import dense_weight_for

    assert dense_weight_for(query, 0.5, multilingual) == pytest.approx(weight)
