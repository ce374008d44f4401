"""Settings from config.toml and the environment: a value out of range or misspelt is a one-line
error naming the setting, never a silent default."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chunk_tokens = 0", "'chunk_tokens': 0 (must be an integer from 16 to 8192)"),
        ("embed_batch_size = -1", "'embed_batch_size': -1 (must be an integer from 1 to 65536)"),
        ('bm25_weight = "nan"', "'bm25_weight': 'nan' (must be a number of at least 0)"),
        ('precision = "fp8"', "'precision': 'fp8' (must be one of auto, fp32, bf16)"),
        ("candidates = -5", "'candidates': -5 (must be an integer from 1 to 10000)"),
        ("extract_workers = -1", "'extract_workers': -1 (must be an integer from 0 to 1024)"),
        ('fusion = ""', "'fusion': '' (must be one of zscore, weighted, rrf)"),
        ("chunk_overlap = 300", "'chunk_overlap': 300 (must be smaller than chunk_tokens, 250)"),
        (
            "bm25_weight = 0\ndense_weight = 0.0",
            "'dense_weight': 0.0 (must be above 0 when bm25_weight is 0)",
        ),
        ('model = ""', "'model': '' (must be a model name, folder or Hugging Face id)"),
        ("model = 5", "'model': 5 (must be a model name, folder or Hugging Face id)"),
        (
            'record_history = "banana"',
            "'record_history': 'banana' (must be true or false, or 1/0, yes/no, on/off)",
        ),
    ],
)
def test_config_values_out_of_range_are_one_line_errors(isolated_home, capsys, line, message):
    from helpers import run_cli

    isolated_home.mkdir()
    (isolated_home / "config.toml").write_text(line + "\n", encoding="utf-8")
    code, out, err = run_cli(["search", "anything"], capsys)
    assert (code, out, err) == (2, "", f"Error: invalid value for setting {message}\n")


def test_yes_and_no_settings_read_every_spelling_of_yes_and_no(isolated_home, monkeypatch):
    from localsearch.config import load_settings
    from localsearch.errors import UsageError

    for word, value in [("1", True), ("Yes", True), ("on", True), ("0", False), ("off", False)]:
        monkeypatch.setenv("LOCALSEARCH_RECORD_HISTORY", word)
        assert load_settings(isolated_home).record_history is value
    monkeypatch.setenv("LOCALSEARCH_RECORD_HISTORY", "flase")
    with pytest.raises(UsageError, match="'record_history': 'flase'"):
        load_settings(isolated_home)


def test_history_refuses_a_count_sqlite_cannot_hold(tmp_path, capsys):
    from helpers import run_cli

    code, out, err = run_cli(["history", "--home", str(tmp_path), "-n", "1" + "0" * 20], capsys)
    assert (code, out) == (2, "")
    assert "is not in the range 1<=x<=9223372036854775807" in err


def test_every_fusion_is_a_valid_setting(isolated_home, monkeypatch):
    """zscore, the default, was refused when set explicitly."""
    from localsearch.config import load_settings
    from localsearch.search.modes import FUSIONS

    for fusion in FUSIONS:
        monkeypatch.setenv("LOCALSEARCH_FUSION", fusion)
        assert load_settings(isolated_home).fusion == fusion


def test_a_config_file_that_is_not_utf8_is_a_one_line_error(isolated_home, capsys):
    from helpers import run_cli

    isolated_home.mkdir()
    config = isolated_home / "config.toml"
    config.write_bytes(b"\xff\xfe bad = 1\n")
    code, out, err = run_cli(["search", "anything"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"Error: cannot read {config}: not UTF-8 text (")


def test_a_config_file_that_is_a_folder_is_a_one_line_error(isolated_home, capsys):
    # It was ignored: the settings the user wrote in it silently did nothing.
    from helpers import run_cli

    (isolated_home / "config.toml").mkdir(parents=True)
    code, out, err = run_cli(["search", "anything"], capsys)
    config = isolated_home / "config.toml"
    assert (code, out, err) == (2, "", f"Error: cannot read {config}: it is a folder\n")
