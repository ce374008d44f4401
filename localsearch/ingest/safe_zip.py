"""Zip packages (DOCX, PPTX, EPUB, archives) opened with limits on what they inflate to.

A few megabytes of zip can hold a part that inflates to gigabytes. The sizes in the zip's
directory are checked before anything is read, and zipfile never inflates a part past the size
its directory gives, so the check bounds memory even when the directory lies.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import BinaryIO

from localsearch.ingest.extract import ExtractionError

MAX_PART_BYTES = 64 * 1024 * 1024  # one part of a document's zip
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # all parts together


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def open_zip(source: Path | BinaryIO, kind: str) -> zipfile.ZipFile:
    """The zip package, its part sizes checked; ExtractionError for a broken or bomb-like one."""
    try:
        package = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ExtractionError(f"broken {kind}: not a valid zip file") from exc
    try:
        check_sizes(package, kind)
    except ExtractionError:
        package.close()
        raise
    return package


def check_sizes(package: zipfile.ZipFile, kind: str) -> None:
    total = 0
    for info in package.infolist():
        if info.file_size > MAX_PART_BYTES:
            raise ExtractionError(
                f"{kind} too large when decompressed: {info.filename} inflates to"
                f" {_megabytes(info.file_size)} (limit {_megabytes(MAX_PART_BYTES)})"
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise ExtractionError(
            f"{kind} too large when decompressed: {_megabytes(total)} in all"
            f" (limit {_megabytes(MAX_TOTAL_BYTES)})"
        )


def read_part(package: zipfile.ZipFile, name: str) -> bytes:
    """One part's bytes; ExtractionError if it is missing or inflates past its stated size."""
    try:
        info = package.getinfo(name)
    except KeyError:
        raise ExtractionError(f"broken file: {name} is missing") from None
    if info.file_size > MAX_PART_BYTES:  # a part added to the package after the check
        raise ExtractionError(f"too large when decompressed: {name}")
    try:
        return package.read(info)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ExtractionError(f"broken file: {name} is damaged ({exc})") from exc
