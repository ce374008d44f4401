"""Helpers for the ingest tests: the shared corpus, and PDFs built byte by byte.

The PDFs are written by hand (no PDF library can encrypt here): a one-page document, plain or
encrypted with the standard security handler (RC4, 40-bit key, revision 2) and a user password,
and a page that is small on disk but costs a PDF reader gigabytes to parse.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "opensource-docs"
MARKITDOWN = "markitdown-test-files/packages/markitdown/tests/test_files"

# The 32-byte padding string of the PDF standard security handler (PDF 1.7, 7.6.3.3).
_PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
_FILE_ID = bytes.fromhex("0123456789abcdef0123456789abcdef")
_PERMISSIONS = -44


def corpus_file(relative: str) -> Path:
    """A file of the shared opensource-docs corpus; skips the test when the corpus is absent."""
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"shared corpus file not found: {path}")
    return path.resolve()


def one_page_pdf(text: str, user_password: str | None = None) -> bytes:
    """A valid one-page PDF showing `text`; encrypted when a user password is given."""
    content = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode("latin-1")
    encrypt = b""
    if user_password is not None:
        key = _file_key(user_password)
        content = _rc4(_object_key(key, 4), content)  # the content stream is object 4
        encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
            _owner_entry(user_password).hex().encode(),
            _rc4(key, _PASSWORD_PAD).hex().encode(),
            _PERMISSIONS,
        )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if encrypt:
        objects.append(encrypt)
    file_id = _FILE_ID.hex().encode()
    trailer = b"/Size %d /Root 1 0 R /ID [<%s> <%s>]" % (len(objects) + 1, file_id, file_id)
    if encrypt:
        trailer += b" /Encrypt %d 0 R" % len(objects)
    return _assemble(objects, trailer)


def text_runs_pdf(runs: int) -> bytes:
    """One page whose compressed content stream draws `runs` one-letter text objects: about
    70 bytes on disk per thousand runs, about 500 bytes of pdfium's memory per run."""
    compressor = zlib.compressobj(9)
    block = b"BT /F1 1 Tf 1 1 Td (a) Tj ET\n" * 10_000
    stream = b"".join(compressor.compress(block) for _ in range(runs // 10_000))
    stream += compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _assemble(objects, b"/Size %d /Root 1 0 R" % (len(objects) + 1))


def _assemble(objects: list[bytes], trailer: bytes) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _padded(password: str) -> bytes:
    return (password.encode("latin-1") + _PASSWORD_PAD)[:32]


def _owner_entry(user_password: str, owner_password: str = "owner") -> bytes:
    owner_key = hashlib.md5(_padded(owner_password)).digest()[:5]
    return _rc4(owner_key, _padded(user_password))


def _file_key(user_password: str) -> bytes:
    owner_entry = _owner_entry(user_password)
    digest = hashlib.md5(
        _padded(user_password)
        + owner_entry
        + _PERMISSIONS.to_bytes(4, "little", signed=True)
        + _FILE_ID
    ).digest()
    return digest[:5]


def _object_key(file_key: bytes, number: int, generation: int = 0) -> bytes:
    seed = file_key + number.to_bytes(3, "little") + generation.to_bytes(2, "little")
    return hashlib.md5(seed).digest()[: len(file_key) + 5]


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)
