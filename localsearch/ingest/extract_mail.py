"""E-mail: .eml (RFC 822, stdlib email), Outlook .msg (OLE2, read with olefile, BSD) and
.mbox mailboxes.

A message gives a document of its headers (from, to, cc, date, subject) and body, plus its
attachments as (file name, bytes) for the caller to index as documents of their own. The body
is the plain-text part when there is one, else the HTML part's visible text. A mailbox gives
its messages, each named by its number and subject, for the caller to read as .eml files.
"""

from __future__ import annotations

import email
import email.policy
import posixpath
import re
import struct
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from pathlib import Path

from localsearch.ingest.extract import (
    ExtractionError,
    decode_text,
    extract_plain_text,
    shorten,
)
from localsearch.ingest.regular_file import read_regular_file
from localsearch.ingest.types import ExtractedDocument, Section

Attachment = tuple[str, bytes]
_HEADERS = ("From", "To", "Cc", "Date", "Subject")
_MAX_ATTACHMENTS = 200


def read_eml(path: Path, data: bytes | None = None) -> tuple[ExtractedDocument, list[Attachment]]:
    """The message in the file at `path`, or in `data` (a mailbox's, named `path`)."""
    if data is None:
        data = read_regular_file(path)
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not any(message.get(h) for h in _HEADERS):
        raise ExtractionError("not an e-mail message: no From, To, Date or Subject header")
    headers = {name: header_text(message, name) for name in _HEADERS}
    body, is_html = _eml_body(message)
    attachments: list[Attachment] = []
    for number, part in enumerate(message.iter_attachments(), 1):
        if len(attachments) >= _MAX_ATTACHMENTS:
            break
        data = _attachment_bytes(part)
        if data is not None:
            name = part.get_filename() or _default_name(part, number)
            attachments.append((safe_file_name(name, number), data))
    return mail_document(path, headers, body, is_html, attachments), attachments


def read_msg(path: Path) -> tuple[ExtractedDocument, list[Attachment]]:
    import olefile  # type: ignore[import-untyped]

    if not olefile.isOleFile(str(path)):
        raise ExtractionError("broken .msg: not an Outlook message file")
    with olefile.OleFileIO(str(path)) as ole:
        headers = {
            "From": _join_address(
                _msg_string(ole, "__substg1.0_0C1A"), _msg_string(ole, "__substg1.0_0C1F")
            ),
            "To": _msg_string(ole, "__substg1.0_0E04"),
            "Cc": _msg_string(ole, "__substg1.0_0E03"),
            "Date": _msg_date(ole),
            "Subject": _msg_string(ole, "__substg1.0_0037"),
        }
        body = _msg_string(ole, "__substg1.0_1000")
        is_html = False
        if not body.strip():
            html = _msg_bytes(ole, "__substg1.0_10130102")
            body, is_html = (decode_text(html), True) if html else ("", False)
        attachments: list[Attachment] = []
        folders = sorted(
            {entry[0] for entry in ole.listdir() if entry[0].startswith("__attach_version1.0_")}
        )
        for number, folder in enumerate(folders[:_MAX_ATTACHMENTS], 1):
            data = _msg_bytes(ole, f"{folder}/__substg1.0_37010102")
            if data is None:
                continue  # an embedded message or OLE object, not a file
            name = _msg_string(ole, f"{folder}/__substg1.0_3707") or _msg_string(
                ole, f"{folder}/__substg1.0_3704"
            )
            attachments.append((safe_file_name(name or f"attachment-{number}", number), data))
    return mail_document(path, headers, body, is_html, attachments), attachments


def mail_document(
    path: Path,
    headers: dict[str, str],
    body: str,
    is_html: bool,
    attachments: list[Attachment],
) -> ExtractedDocument:
    lines = [f"{name}: {value}" for name, value in headers.items() if value]
    if attachments:
        lines.append("Attachments: " + ", ".join(name for name, _ in attachments))
    sections = [Section(text="\n".join(lines))] if lines else []
    if is_html:
        from localsearch.ingest.extract_html import html_to_sections

        sections.extend(html_to_sections(body)[1])
    elif body.strip():
        sections.extend(extract_plain_text(body.replace("\r\n", "\n"), path).sections)
    subject = shorten(headers.get("Subject", ""))
    return ExtractedDocument(title=subject or path.stem, doc_type="mail", sections=sections)


def safe_file_name(name: str, number: int) -> str:
    """The last path component of an attachment's name: never a path out of its folder."""
    base = posixpath.basename(name.replace("\\", "/")).strip().strip(".")
    base = re.sub(r"[\x00-\x1f]", "", base)
    return base[:200] or f"attachment-{number}"


def header_text(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # malformed headers trip the parser
        value = message.get_all(name, failobj=[""])[0] if name in message else ""
    return " ".join(str(value or "").split())


def _eml_body(message: EmailMessage) -> tuple[str, bool]:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", False
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown or broken charset
        payload = part.get_payload(decode=True)
        content = decode_text(payload) if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return "", False
    return content, part.get_content_subtype() == "html"


def _attachment_bytes(part: Message) -> bytes | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes()
        return None
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) and payload else None


def _default_name(part: Message, number: int) -> str:
    if part.get_content_type() == "message/rfc822":
        return f"message-{number}.eml"
    return f"attachment-{number}"


def _join_address(name: str, address: str) -> str:
    if name and address and name != address:
        return f"{name} <{address}>"
    return name or address


def _msg_bytes(ole: object, stream: str) -> bytes | None:
    if not ole.exists(stream):  # type: ignore[attr-defined]
        return None
    data: bytes = ole.openstream(stream).read()  # type: ignore[attr-defined]
    return data


def _msg_string(ole: object, prefix: str) -> str:
    """A string property: UTF-16 (type 001F) or 8-bit (001E) stream."""
    data = _msg_bytes(ole, prefix + "001F")
    if data is not None:
        return data.decode("utf-16-le", errors="replace").rstrip("\x00").strip()
    data = _msg_bytes(ole, prefix + "001E")
    if data is not None:
        return decode_text(data.rstrip(b"\x00")).strip()
    return ""


def _msg_date(ole: object) -> str:
    """PR_CLIENT_SUBMIT_TIME (0x0039) from the fixed-size property stream, as ISO 8601."""
    data = _msg_bytes(ole, "__properties_version1.0")
    if data is None:
        return ""
    for offset in range(32, len(data) - 15, 16):  # 32-byte header, then 16-byte entries
        tag, _flags, value = struct.unpack_from("<IIQ", data, offset)
        if tag == 0x00390040 and value:
            moment = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 10)
            return moment.isoformat(timespec="seconds")
    return ""
