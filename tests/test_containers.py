"""Archives and e-mail: members indexed as "container › member" documents, bombs and unsafe
names refused with a reason, and a changed or deleted container keeping the index in step."""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import run_cli
from msg_fixture import outlook_message

from localsearch.ingest.containers import (
    UnpackLimits,
    container_document,
    unpack,
    unpack_member,
)
from localsearch.ingest.extract import ExtractionError, detect_doc_type
from localsearch.ingest.walk import walk_roots

SEP = " › "


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_tar_gz(path: Path, members: dict[str, bytes], links: dict[str, str] = {}) -> Path:  # noqa: B006
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def mail_bytes() -> bytes:
    message = EmailMessage()
    message["From"] = "Ines Duarte <ines@example.org>"
    message["To"] = "ops@example.org"
    message["Date"] = "Tue, 05 Mar 2024 09:30:00 +0000"
    message["Subject"] = "Kiln firing schedule"
    message.set_content("The bisque firing moves to Thursday; cone 04 as usual.\n")
    message.add_attachment(
        b"kiln,cone\nnorth,06\nsouth,04\n",
        maintype="text",
        subtype="csv",
        filename="../../kilns.csv",
    )
    return message.as_bytes()


# -- unpacking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "doc_type"),
    [("a.zip", "archive"), ("a.tar.gz", "archive"), ("a.TGZ", "archive"), ("a.tar", "archive"),
     ("a.eml", "mail"), ("a.msg", "mail"), ("a.mbox", "mail"), ("Inbox.mbox/mbox", "mail"),
     ("a.gz", "binary"), ("a.7z", "binary")],
)  # fmt: skip
def test_detect_containers(name: str, doc_type: str) -> None:
    assert detect_doc_type(Path(name)) == doc_type


def test_zip_members_nesting_and_refusals(tmp_path: Path) -> None:
    deepest = zip_bytes({"bottom.txt": "too deep"})
    nested = zip_bytes({"inner.txt": "quokka census", "deeper.zip": deepest})
    path = write_zip(
        tmp_path / "bundle.zip",
        {
            "docs/readme.md": "# Readme\n\nzebra crossing",
            "../escape.txt": "out",
            "/etc/cron.d/job": "out",
            "zeros.txt": b"\0" * (2 * 1024 * 1024),
            "photo.png": b"\x89PNG",
            ".git/config": "hidden",
            "__MACOSX/docs/._readme.md": "resource fork",
            "app/node_modules/pkg/README.md": "installed",
            "nested/in.zip": nested,
        },
    )
    with unpack(path) as unpacked:
        assert [m.name for m in unpacked.members] == [
            "docs/readme.md",
            "nested/in.zip",
            f"nested/in.zip{SEP}inner.txt",
        ]
        assert unpacked.members[2].path.read_text() == "quokka census"
        assert unpacked.members[2].path.name == "inner.txt"
        ratio = unpacked.skipped[2][1]
        assert re.fullmatch(r"zip bomb: compression ratio 10\d\d:1 \(limit 200:1\)", ratio)
        assert unpacked.skipped == [
            ("../escape.txt", "unsafe path: climbs out of the archive (../)"),
            ("/etc/cron.d/job", "unsafe path: absolute name"),
            ("zeros.txt", ratio),
            ("photo.png", "image"),
            (f"nested/in.zip{SEP}deeper.zip", "archive limit: nested over 2 levels deep"),
        ]
        assert unpacked.document.text == "bundle.zip holds:\ndocs/readme.md\nnested/in.zip"
        folder = unpacked.members[0].path.parents[1]
        assert folder.exists()
    assert not folder.exists()
    assert not (tmp_path / "escape.txt").exists()


def test_entry_count_and_total_size_limits(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.zip", {f"n{i}.txt": f"note {i}" for i in range(5)})
    with unpack(path, UnpackLimits(max_entries=3)) as unpacked:
        assert [m.name for m in unpacked.members] == ["n0.txt", "n1.txt", "n2.txt"]
        assert unpacked.skipped == [
            ("n3.txt", "archive limit: over 3 entries"),
            ("n4.txt", "archive limit: over 3 entries"),
        ]
    limits = UnpackLimits(max_total_bytes=2 * 1024 * 1024, max_ratio=10**6)
    big = write_zip(tmp_path / "big.zip", {"a.txt": "a" * 1_500_000, "b.txt": "b" * 1_500_000})
    with unpack(big, limits) as unpacked:
        assert [m.name for m in unpacked.members] == ["a.txt"]
        assert unpacked.skipped == [("b.txt", "archive limit: over 2 MB unpacked")]


def test_tar_gz_members_links_traversal_and_bomb(tmp_path: Path) -> None:
    path = write_tar_gz(
        tmp_path / "site.tar.gz",
        {"site/index.md": b"# Index\n\nheron rookery", "../../etc/evil": b"x"},
        links={"site/passwd": "/etc/passwd"},
    )
    with unpack(path) as unpacked:
        assert [m.name for m in unpacked.members] == ["site/index.md"]
        assert unpacked.skipped == [
            ("../../etc/evil", "unsafe path: climbs out of the archive (../)"),
            ("site/passwd", "not a regular file (link or device)"),
        ]
    bomb = write_tar_gz(tmp_path / "bomb.tgz", {"zeros.bin.txt": b"\0" * (3 * 1024 * 1024)})
    with unpack(bomb, UnpackLimits(max_ratio=20)) as unpacked:
        assert unpacked.members == []
        assert unpacked.skipped == [
            (
                "zeros.bin.txt",
                "zip bomb: unpacks to over 20 times its size; the rest of the archive is skipped",
            )
        ]


def test_broken_archives_are_extraction_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 nope")
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b\x08 nope")
    for name in ("bad.zip", "bad.tar.gz"):
        with pytest.raises(ExtractionError, match=r"^broken (zip|tar): "):
            unpack(tmp_path / name)


def test_eml_headers_body_and_attachment_as_member(tmp_path: Path) -> None:
    path = tmp_path / "kiln.eml"
    path.write_bytes(mail_bytes())
    doc = container_document(path)
    assert (doc.title, doc.doc_type) == ("Kiln firing schedule", "mail")
    assert doc.sections[0].text.split("\n") == [
        "From: Ines Duarte <ines@example.org>",
        "To: ops@example.org",
        "Date: Tue, 05 Mar 2024 09:30:00 +0000",
        "Subject: Kiln firing schedule",
        "Attachments: kilns.csv",
    ]
    assert "bisque firing moves to Thursday" in doc.text
    with unpack(path) as unpacked:
        assert [(m.name, m.path.read_bytes()) for m in unpacked.members] == [
            ("kilns.csv", b"kiln,cone\nnorth,06\nsouth,04\n")
        ]


def test_html_only_mail_and_a_forwarded_message_as_nested_member(tmp_path: Path) -> None:
    inner = EmailMessage()
    inner["From"] = "harbour@example.org"
    inner["Subject"] = "Tide tables"
    inner.set_content("Spring tides peak on the ninth.\n")
    outer = EmailMessage()
    outer["From"] = "ines@example.org"
    outer["Subject"] = "Fwd: Tide tables"
    outer.add_alternative("<html><body><p>See the <b>forwarded</b> note.</p></body></html>",
                          subtype="html")  # fmt: skip
    outer.add_attachment(inner)
    path = tmp_path / "fwd.eml"
    path.write_bytes(outer.as_bytes())
    with unpack(path) as unpacked:
        assert unpacked.document.sections[1].text == "See the forwarded note."
        assert "<" not in unpacked.document.text
        assert [m.name for m in unpacked.members] == ["message-1.eml"]
        forwarded = unpacked.members[0].document
        assert forwarded is not None and forwarded.title == "Tide tables"
        assert "Spring tides peak on the ninth." in forwarded.text


def mailbox_bytes(*, with_kiln: bool = True) -> bytes:
    """Three messages as mail programs export them (mboxrd: a body line "From " is quoted)."""
    note = EmailMessage()
    note["From"] = "harbour@example.org"
    note["Subject"] = "Re: A/B buoy test"
    note.set_content("From the east mole the buoys read 3 knots.\n>From memory, less.\n")
    bare = EmailMessage()
    bare["From"] = "tidewatch@example.org"
    bare.set_content("Spring tides peak on the ninth.\n")
    return b"".join(
        b"From sender@example.org Tue Mar  5 09:30:00 2024\n"
        + re.sub(rb"(?m)^(>*From )", rb">\1", message.as_bytes().replace(b"\r\n", b"\n"))
        + b"\n"
        for message in ([email_message_from(mail_bytes())] if with_kiln else []) + [note, bare]
    )


def email_message_from(data: bytes) -> EmailMessage:
    import email
    import email.policy

    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_an_mbox_mailbox_has_each_message_as_a_member(tmp_path: Path) -> None:
    path = tmp_path / "Takeout.mbox"
    path.write_bytes(mailbox_bytes())
    with unpack(path) as unpacked:
        names = [m.name for m in unpacked.members]
        assert names == [
            "0001 Kiln firing schedule.eml",
            f"0001 Kiln firing schedule.eml{SEP}kilns.csv",
            "0002 Re: A-B buoy test.eml",
            "0003.eml",
        ]
        documents = {m.name: m.document for m in unpacked.members}
        kiln = documents["0001 Kiln firing schedule.eml"]
        assert kiln is not None and kiln.title == "Kiln firing schedule"
        assert "bisque firing moves to Thursday" in kiln.text
        buoys = documents["0002 Re: A-B buoy test.eml"]
        assert buoys is not None and buoys.title == "Re: A/B buoy test"
        # The quoting a mailbox adds is taken off again; a line quoted in the mail stays so.
        assert "From the east mole the buoys read 3 knots.\n>From memory, less." in buoys.text
        bare = documents["0003.eml"]
        assert bare is not None and "Spring tides peak on the ninth." in bare.text
        assert unpacked.document.title == "Takeout.mbox"
        assert unpacked.document.text.split("\n")[1:] == [
            "0001 Kiln firing schedule.eml",
            "0002 Re: A-B buoy test.eml",
            "0003.eml",
        ]
    opened = unpack_member(f"{path}{SEP}0002 Re: A-B buoy test.eml")
    try:
        assert b"buoys read 3 knots" in opened.read_bytes()
    finally:
        shutil.rmtree(opened.parent.parent, ignore_errors=True)


def test_a_file_named_mbox_that_is_not_a_mailbox_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.mbox"
    path.write_text("Just some notes about mailboxes.\n")
    with pytest.raises(ExtractionError, match="not an mbox mailbox"):
        unpack(path)
    path.write_text("\n")  # an empty mailbox is one all the same
    with unpack(path) as unpacked:
        assert (unpacked.members, unpacked.skipped, unpacked.document.text) == ([], [], "")


def test_outlook_msg_headers_body_and_attachment(tmp_path: Path) -> None:
    path = outlook_message(tmp_path / "inspection.msg")
    with unpack(path) as unpacked:
        doc = unpacked.document
        assert (doc.title, doc.doc_type) == ("Quarterly lighthouse inspection", "mail")
        assert doc.sections[0].text.split("\n") == [
            "From: Maren Holt <maren@example.org>",
            "To: Keepers Guild",
            "Date: 2024-03-15T18:13:20+00:00",
            "Subject: Quarterly lighthouse inspection",
            "Attachments: lamp-log.txt",
        ]
        assert doc.sections[1].text == "The Fresnel lens at Skerry Point needs regrinding."
        assert [(m.name, m.path.read_bytes()) for m in unpacked.members] == [
            ("lamp-log.txt", b"Lamp hours logged: 8761 in 2023.\n")
        ]


def test_real_outlook_msg() -> None:
    doc = container_document(Path(__file__).parent / "fixtures/markitdown/test_outlook_msg.msg")
    assert (doc.title, doc.doc_type) == ("Test Email Message", "mail")
    assert [s.text for s in doc.sections] == [
        "From: M. C. Kurtuluş <test.sender@example.com>\n"
        "To: test.recipient@example.com\n"
        "Date: 2024-12-22T08:23:00+00:00\n"
        "Subject: Test Email Message",
        "This is the body of the test email message",
    ]


def test_a_msg_that_is_not_outlook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fr.msg"
    path.write_text('::msgcat::mcset fr "Cancel" "Annuler"\n', encoding="utf-8")
    with pytest.raises(ExtractionError, match=r"^broken \.msg: not an Outlook message file$"):
        container_document(path)


def test_walker_finds_archives_but_not_other_compressed_files(tmp_path: Path) -> None:
    for name in ("a.zip", "b.tar.gz", "c.gz", "d.eml"):
        (tmp_path / name).write_bytes(b"x")
    found = {item.path.name: getattr(item, "reason", None) for item in walk_roots([tmp_path])}
    assert found == {"a.zip": None, "b.tar.gz": None, "c.gz": "archive", "d.eml": None}


# -- indexing and search ----------------------------------------------------------------------


def index_verbose(docs: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, _, err = run_cli(["index", str(docs), "--verbose"], capsys)
    assert code == 0, err
    return [line for line in err.splitlines() if line.startswith("skipped ")]


def search_paths(query: str, mode: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, out, err = run_cli(["search", query, "--mode", mode, "-k", "5", "--json"], capsys)
    assert code == 0, err
    return [hit["path"] for hit in json.loads(out)["results"]]


def test_archive_and_mail_members_are_searchable_and_follow_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_zip(
        docs / "field.zip",
        {
            "notes/heron.md": "# Herons\n\nThe heron rookery on the estuary held forty nests.",
            "counts.csv": "species,count\nspoonbill,17\n",
            "../../escape.md": "never",
        },
    )
    write_zip(docs / "bomb.zip", {"zeros.txt": b"\0" * (4 * 1024 * 1024)})
    (docs / "kiln.eml").write_bytes(mail_bytes())
    outlook_message(docs / "inspection.msg")
    (docs / "harbour.mbox").write_bytes(mailbox_bytes(with_kiln=False))

    skipped = index_verbose(docs, capsys)
    assert re.fullmatch(r"zip bomb: compression ratio 10\d\d:1 \(limit 200:1\)", skipped[0][-48:])
    assert skipped == [
        f"skipped {docs / 'bomb.zip'}{SEP}zeros.txt: {skipped[0][-48:]}",
        f"skipped {docs / 'field.zip'}{SEP}../../escape.md: unsafe path: climbs out of the"
        " archive (../)",
    ]
    for mode in ("bm25", "hybrid"):
        assert search_paths("heron rookery estuary", mode, capsys)[0] == (
            f"{docs / 'field.zip'}{SEP}notes/heron.md"
        )
        assert search_paths("spoonbill", mode, capsys)[0] == f"{docs / 'field.zip'}{SEP}counts.csv"
        assert search_paths("bisque firing Thursday", mode, capsys)[0] == str(docs / "kiln.eml")
        assert search_paths("north kiln cone", mode, capsys)[0] == (
            f"{docs / 'kiln.eml'}{SEP}kilns.csv"
        )
        assert search_paths("Fresnel lens regrinding", mode, capsys)[0] == (
            str(docs / "inspection.msg")
        )
        assert search_paths("lamp hours logged", mode, capsys)[0] == (
            f"{docs / 'inspection.msg'}{SEP}lamp-log.txt"
        )
        assert search_paths("buoys east mole knots", mode, capsys)[0] == (
            f"{docs / 'harbour.mbox'}{SEP}0001 Re: A-B buoy test.eml"
        )

    # An unchanged archive keeps its members without being opened again.
    code, _, err = run_cli(["index"], capsys)
    assert code == 0 and "0 added, 0 updated, 0 removed" in err

    # A changed archive re-indexes its members: a removed member goes, a new one comes.
    (docs / "field.zip").unlink()
    write_zip(docs / "field.zip", {"notes/egret.md": "# Egrets\n\nLittle egrets roost in alders."})
    code, _, err = run_cli(["index"], capsys)
    assert code == 0, err
    assert search_paths("heron rookery", "bm25", capsys) == []
    assert search_paths("egrets roost alders", "bm25", capsys) == [
        f"{docs / 'field.zip'}{SEP}notes/egret.md",
        str(docs / "field.zip"),  # its list of members names egret.md
    ]

    # A deleted archive or message takes its members with it.
    (docs / "field.zip").unlink()
    (docs / "kiln.eml").unlink()
    code, _, err = run_cli(["index"], capsys)
    assert code == 0, err
    assert search_paths("egrets roost alders", "bm25", capsys) == []
    assert search_paths("north kiln cone", "bm25", capsys) == []


# -- opening ----------------------------------------------------------------------------------


def test_unpack_member_gives_a_private_copy_of_one_nested_member(tmp_path: Path) -> None:
    nested = zip_bytes({"inner.md": "# Inner\n\nquokka census", "other.md": "not wanted"})
    archive = write_zip(tmp_path / "a.zip", {"x.md": "not wanted", "in.zip": nested})
    path = unpack_member(f"{archive}{SEP}in.zip{SEP}inner.md")
    assert (path.name, path.read_text()) == ("inner.md", "# Inner\n\nquokka census")
    folder = path.parents[1]
    assert folder.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in folder.rglob("*.md")) == ["inner.md"]
    shutil.rmtree(folder)
    with pytest.raises(ExtractionError, match=r"^gone\.md is no longer in .*a\.zip; re-index"):
        unpack_member(f"{archive}{SEP}gone.md")


def test_opening_a_member_clears_copies_that_earlier_openings_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy is left for the program that opens it; they piled up in /tmp until a reboot,
    # private mail attachments among them.
    import os
    import tempfile
    import time

    from localsearch.ingest.containers import UNPACK_PREFIX

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    archive = write_zip(tmp_path / "a.zip", {"x.md": "# X\n\nkea"})
    old, recent = (temporary / f"{UNPACK_PREFIX}{n}" for n in ("old", "recent"))
    for folder in (old, recent):
        (folder / "inner").mkdir(parents=True)
        (folder / "inner" / "secret.pdf").write_bytes(b"%PDF")
    other = temporary / "someone-else"
    other.mkdir()
    day_ago = time.time() - 86400
    for path in (old, other):
        os.utime(path, (day_ago, day_ago))
    opened = unpack_member(f"{archive}{SEP}x.md")
    assert opened.read_text() == "# X\n\nkea"
    new = next(p for p in opened.parents if p.parent == temporary)
    assert sorted(p.name for p in temporary.iterdir()) == sorted(
        [recent.name, other.name, new.name]
    )


async def test_tui_opens_an_archive_member_at_its_line(tmp_path: Path, settings) -> None:
    from tui_helpers import RecordingOpener, make

    archive = write_zip(tmp_path / "field.zip", {"notes/heron.md": "# Herons\n\nforty nests"})
    opener = RecordingOpener()
    app = make(settings, opener)
    async with app.run_test():
        app.open_path(Path(f"{archive}{SEP}notes/heron.md"), 3)
    [(kind, path, line)] = opener.calls
    assert (kind, path.name, path.read_text(), line) == (
        "file",
        "heron.md",
        "# Herons\n\nforty nests",
        3,
    )
    shutil.rmtree(path.parents[1])


def test_a_refused_member_stays_listed_while_its_archive_is_unchanged(tmp_path: Path, capsys):
    # The next, unchanged `index` dropped the refusal: `status --skipped` said nothing was skipped.
    docs = tmp_path / "docs"
    docs.mkdir()
    with zipfile.ZipFile(docs / "a.zip", "w") as archive:
        archive.writestr("../escape.md", "x")
        archive.writestr("ok.md", "# Fossa\n\nThe fossa hunts lemurs.\n")
    home = ["--home", str(tmp_path / "home")]
    assert run_cli(["index", str(docs), *home], capsys)[0] == 0
    refused = f"{docs / 'a.zip'} › ../escape.md: unsafe path: climbs out of the archive (../)"
    for _ in range(2):
        code, out, _ = run_cli(["status", "--skipped", *home], capsys)
        assert code == 0 and refused in out
        assert run_cli(["index", *home], capsys)[0] == 0
