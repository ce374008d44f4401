"""walk_roots: what gets found, what gets skipped and why, on real folders and links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ingest_fixtures import corpus_file

from localsearch.ingest.types import FoundFile, SkippedFile
from localsearch.ingest.walk import walk_roots


def write(path: Path, text: str = "some text\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def found(roots: list[Path], **kwargs: int) -> list[str]:
    """Paths found, relative to the first root, in walk order."""
    base = roots[0] if roots[0].is_dir() else roots[0].parent
    return [
        os.path.relpath(item.path, base)
        for item in walk_roots(roots, **kwargs)
        if isinstance(item, FoundFile)
    ]


def skipped(roots: list[Path], **kwargs: int) -> dict[str, str]:
    base = roots[0]
    return {
        os.path.relpath(item.path, base): item.reason
        for item in walk_roots(roots, **kwargs)
        if isinstance(item, SkippedFile)
    }


def test_corpus_folder_is_walked_in_sorted_order_with_images_skipped() -> None:
    folder = corpus_file("multivae-paper")
    items = list(walk_roots([folder]))
    names = [item.path.name for item in items if isinstance(item, FoundFile)]
    assert names == ["LICENSE", "paper.bib", "paper.html", "paper.md", "paper.pdf"]
    reasons = {item.path.name: item.reason for item in items if isinstance(item, SkippedFile)}
    assert reasons == {"code_structure.png": "image", "mvae_models_diagrams.png": "image"}
    first = next(item for item in items if isinstance(item, FoundFile))
    assert first.root == Path(os.path.abspath(folder))
    assert first.size == first.path.stat().st_size > 0
    assert first.mtime_ns == first.path.stat().st_mtime_ns
    assert list(walk_roots([folder])) == items


def test_files_come_before_subfolders_and_both_are_sorted(tmp_path: Path) -> None:
    for name in ("b.md", "a/z.md", "a/c/d.md", "c.txt", "B/x.md"):
        write(tmp_path / name)
    assert found([tmp_path]) == ["b.md", "c.txt", "B/x.md", "a/z.md", "a/c/d.md"]


def test_single_file_root_and_overlapping_roots(tmp_path: Path) -> None:
    note = write(tmp_path / "notes" / "note.md")
    write(tmp_path / "notes" / "other.md")
    assert found([note]) == ["note.md"]
    # A folder inside another root, and the same file named twice: each file once.
    assert found([tmp_path, tmp_path / "notes", note]) == ["notes/note.md", "notes/other.md"]


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(walk_roots([tmp_path / "nope"]))


def test_hidden_files_and_junk_folders_are_left_out(tmp_path: Path) -> None:
    write(tmp_path / "keep.md")
    write(tmp_path / ".secret.md")
    write(tmp_path / ".git" / "config")
    write(tmp_path / ".venv" / "lib" / "x.py")
    write(tmp_path / "node_modules" / "pkg" / "README.md")
    write(tmp_path / "src" / "__pycache__" / "mod.txt")
    write(tmp_path / "venv" / "bin" / "activate")
    write(tmp_path / "src" / "mod.py")
    assert found([tmp_path]) == ["keep.md", "src/mod.py"]
    assert skipped([tmp_path]) == {}


def test_gitignore_and_ignore_files_nest_with_git_semantics(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.log\n!keep.log\nbuild/\n/top-only.md\n# comment\n")
    write(tmp_path / ".ignore", "drafts\n")
    for name in (
        "a.log", "keep.log", "top-only.md", "build/out.md", "notes/build", "drafts/x.md",
        "notes/top-only.md", "notes/a.log", "notes/important.log", "notes/b.txt",
        "notes/deep/c.txt", "notes/deep/keep.txt", "notes/deep/d.md",
    ):  # fmt: skip
        write(tmp_path / name)
    # A nested file applies to its own subtree, can re-include (negation) and add patterns.
    write(tmp_path / "notes" / ".gitignore", "!important.log\n*.txt\n")
    write(tmp_path / "notes" / "deep" / ".ignore", "!keep.txt\n")
    assert found([tmp_path]) == [
        "keep.log",
        "notes/build",  # "build/" only matches folders
        "notes/important.log",
        "notes/top-only.md",  # "/top-only.md" is anchored to the root's folder
        "notes/deep/d.md",
        "notes/deep/keep.txt",
    ]


def test_files_in_an_ignored_folder_cannot_be_re_included(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "private/\n!private/ok.md\n")
    write(tmp_path / "private" / "ok.md")
    write(tmp_path / "public.md")
    assert found([tmp_path]) == ["public.md"]


def test_size_limit_and_binary_extensions_are_skipped_with_reasons(tmp_path: Path) -> None:
    write(tmp_path / "small.txt", "x" * 100)
    write(tmp_path / "big.txt", "x" * 5000)
    (tmp_path / "huge.log").touch()
    os.truncate(tmp_path / "huge.log", 21 * 1024 * 1024)  # sparse: costs no disk
    for name in ("photo.JPG", "bundle.7z", "mod.pyc", "font.woff2", "data.sqlite", "a.mp4"):
        (tmp_path / name).write_bytes(b"\x00\x01")
    write(tmp_path / "unknown.xyz")  # unknown extensions go on to extraction's sniffing
    assert found([tmp_path], max_file_bytes=1000) == ["small.txt", "unknown.xyz"]
    assert skipped([tmp_path], max_file_bytes=1000) == {
        "a.mp4": "audio or video",
        "big.txt": "over 1000 bytes",
        "bundle.7z": "archive",
        "data.sqlite": "database",
        "font.woff2": "font",
        "huge.log": "over 1000 bytes",
        "mod.pyc": "binary file",
        "photo.JPG": "image",
    }
    assert skipped([tmp_path])["huge.log"] == "over 20 MB"
    assert "big.txt" in found([tmp_path])


def test_unreadable_file_is_skipped_as_permission_denied(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: every file is readable")
    write(tmp_path / "ok.md")
    locked = write(tmp_path / "locked.md")
    locked.chmod(0)
    try:
        assert found([tmp_path]) == ["ok.md"]
        assert skipped([tmp_path]) == {"locked.md": "permission denied"}
    finally:
        locked.chmod(0o644)


def test_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert skipped([tmp_path]) == {"pipe": "not a regular file"}


def test_symlinks_inside_the_roots_are_followed_once_under_the_real_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "real" / "a.md")
    write(root / "real" / "sub" / "b.md")
    (root / "0-alias").symlink_to(root / "real", target_is_directory=True)  # sorts first
    (root / "0-a.md").symlink_to(root / "real" / "a.md")
    write(root / ".hidden" / "only-via-link.md")
    (root / "visible.md").symlink_to(root / ".hidden" / "only-via-link.md")
    assert found([root]) == ["real/a.md", "real/sub/b.md", "visible.md"]
    assert skipped([root]) == {}


def test_symlinks_out_of_the_roots_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.md")
    root = tmp_path / "root"
    write(root / "mine.md")
    (root / "file-link.md").symlink_to(outside / "secret.md")
    (root / "dir-link").symlink_to(outside, target_is_directory=True)
    assert found([root]) == ["mine.md"]
    assert skipped([root]) == {
        "dir-link": "symlink outside the indexed folders",
        "file-link.md": "symlink outside the indexed folders",
    }
    # Indexing both folders makes the links point inside: their targets are found directly.
    assert found([root, outside]) == ["mine.md", "../outside/secret.md"]


def test_symlink_loops_and_broken_links_do_not_stop_the_walk(tmp_path: Path) -> None:
    write(tmp_path / "doc.md")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)  # a cycle
    (tmp_path / "self").symlink_to(tmp_path / "self")
    (tmp_path / "ping").symlink_to(tmp_path / "pong")
    (tmp_path / "pong").symlink_to(tmp_path / "ping")
    (tmp_path / "dangling.md").symlink_to(tmp_path / "gone.md")
    assert found([tmp_path]) == ["doc.md"]
    assert skipped([tmp_path]) == {
        "dangling.md": "broken symlink",
        "ping": "symlink loop",
        "pong": "symlink loop",
        "self": "symlink loop",
    }


def test_ignore_rules_apply_to_links_too(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "ignored-link\n")
    write(tmp_path / "data" / "x.md")
    (tmp_path / "ignored-link").symlink_to(tmp_path / "data" / "x.md")
    (tmp_path / "kept-link").symlink_to(tmp_path / "data", target_is_directory=True)
    assert found([tmp_path]) == ["data/x.md"]
    assert skipped([tmp_path]) == {}


def test_a_left_out_folder_is_not_entered_under_its_own_name_or_through_a_link(
    tmp_path: Path,
) -> None:
    write(tmp_path / "notes.md")
    write(tmp_path / "data" / "settings.toml")
    os.symlink(tmp_path / "data", tmp_path / "also-data")
    assert found([tmp_path], leave_out=[tmp_path / "data"]) == ["notes.md"]
    assert found([tmp_path], leave_out=[tmp_path / "not-made-yet"]) == [
        "notes.md",
        "data/settings.toml",
    ]
