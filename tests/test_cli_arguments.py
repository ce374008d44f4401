"""Arguments a user mistypes: each is a one-line error and exit 2, never work on the wrong thing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import index_files, run_cli

NOTES = {"fox.md": "# Fox\n\nThe quick brown fox jumps over the lazy dog.\n"}


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["roots", "--remove", ""], "folder — give the indexed folder to remove"),
        (["eval", ""], "folder — give a BEIR dataset folder"),
        (["eval", " "], "folder — give a BEIR dataset folder"),
        (["adapt", "--pairs", ""], "file — give the file of your own pairs"),
        (["index", ""], "folder — give the folder to index"),
    ],
)
def test_an_empty_path_is_refused_rather_than_taken_as_the_current_folder(
    tmp_path, capsys, monkeypatch, args, what
):
    docs, home = index_files(tmp_path, NOTES)
    monkeypatch.chdir(docs)
    code, out, err = run_cli([*args, "--home", str(home)], capsys)
    assert (code, out) == (2, "")
    assert err == f"Error: an empty path is not a {what}\n"
    code, out, _ = run_cli(["roots", "--home", str(home)], capsys)
    assert out == f"{docs}\n"


def test_watch_with_an_empty_path_does_not_watch_the_current_folder(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "private.md").write_text("# Private\n\nnot to be indexed\n")
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "localsearch", "watch", "", "--home", str(home)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "Error: an empty path is not a folder — give a folder to watch\n"
    assert not home.exists()


@pytest.mark.parametrize("command", ["use", "pull"])
def test_an_empty_model_name_is_refused_before_any_work(tmp_path, capsys, command):
    code, out, err = run_cli(["models", command, "", "--home", str(tmp_path / "home")], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("Error: a model name cannot be empty — ")
    assert "\n" not in err.rstrip("\n")


def test_pull_refuses_an_unknown_name_before_saying_it_downloads(tmp_path, capsys):
    code, out, err = run_cli(["models", "pull", "no-such-model", "--home", str(tmp_path)], capsys)
    assert code == 2
    assert err.startswith("Error: unknown model 'no-such-model'")
    assert "Downloading" not in err + out


def test_use_on_a_file_says_it_is_a_file_rather_than_suggesting_a_pull(tmp_path, capsys):
    docs, home = index_files(tmp_path, NOTES)
    weights = docs / "fox.md"
    code, out, err = run_cli(["models", "use", str(weights), "--home", str(home)], capsys)
    assert code == 1
    assert err == (
        f"Error: {weights} is a file, not a model folder"
        " — give the folder that holds the model's config.json\n"
    )


@pytest.mark.parametrize("wait", ["-1", "nan", "-inf"])
def test_a_wait_that_is_not_a_number_of_seconds_is_refused(tmp_path, capsys, wait):
    docs, home = index_files(tmp_path, NOTES)
    code, out, err = run_cli(["roots", "--home", str(home), "--wait", wait], capsys)
    assert (code, out) == (2, "")
    assert "Invalid value for '--wait': must be a number of seconds, 0 or more" in err


def test_a_relative_home_is_reported_as_the_folder_it_names(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["status", "--home", "rel"], capsys)
    assert code == 1
    assert err.startswith(f"Error: no index in {tmp_path / 'rel'} — ")


def test_a_newline_in_a_path_cannot_split_a_line_of_output(tmp_path, capsys) -> None:
    # roots, status and errors printed it raw: "no such file or folder: /…/nope" and "second"
    # on two lines, where search results show ␊.
    folder = tmp_path / "r with\nnl"
    folder.mkdir()
    (folder / "g.md").write_text("# Gecko\n\nGeckos lick their eyes.\n", encoding="utf-8")
    home = ["--home", str(tmp_path / "home")]
    assert run_cli(["index", str(folder), *home], capsys)[0] == 0
    shown = str(folder).replace("\n", "\u240a")
    assert run_cli(["roots", *home], capsys)[1] == f"{shown}\n"
    assert f"\n  {shown}  (1 document, " in run_cli(["status", *home], capsys)[1]
    code, out, err = run_cli(["index", str(tmp_path / "nope\nsecond"), *home], capsys)
    assert (code, out) == (2, "")
    assert err == f"Error: no such file or folder: {tmp_path}/nope\u240asecond\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--path", ""], "--path is empty — give a glob such as 'notes/*' or '*.md'"),
        (["--type", ""], "--type is empty — give a file type such as md or pdf"),
        (["--type", ","], "--type is empty — give a file type such as md or pdf"),
    ],
)
def test_an_empty_filter_is_refused_rather_than_searching_everything(
    tmp_path, capsys, args, message
):
    # An empty query is refused; an empty filter (a shell variable that was not set) searched
    # every file as if no filter had been given.
    docs, home = index_files(tmp_path, NOTES)
    code, out, err = run_cli(["search", "fox", *args, "--home", str(home)], capsys)
    assert (code, out) == (2, "")
    assert err == f"Error: {message}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "~Documents"], "no such file or folder: {cwd}/~Documents"),
        (["status", "--home", "~nosuchuser/home"], "no index in"),
    ],
)
def test_a_tilde_before_a_user_that_does_not_exist_is_only_a_name(
    tmp_path, capsys, monkeypatch, args, message
):
    # Python's Path.expanduser raises for "~Documents" (a user "Documents"): "internal error".
    monkeypatch.chdir(tmp_path)
    if "--home" not in args:
        args = [*args, "--home", str(tmp_path / "home")]
    code, out, err = run_cli(args, capsys)
    assert message.format(cwd=tmp_path) in out + err
    assert "internal error" not in err


def test_a_ctrl_c_while_the_cli_is_still_importing_is_one_line(tmp_path) -> None:
    # It printed Python's traceback: the CLI's handler did not exist yet.
    script = (
        "import builtins, sys\n"
        "real_import = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name == 'localsearch.cli':\n"
        "        raise KeyboardInterrupt\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "sys.argv = ['localsearch', 'status']\n"
        "import runpy\n"
        "runpy.run_module('localsearch', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "Interrupted.\n")
