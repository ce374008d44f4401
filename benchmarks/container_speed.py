"""What reading a folder through an archive costs: extract its files directly, then from a .zip
and a .tar.gz of the same files (unpack, then extract every member). Prints seconds and
members; nothing is embedded.

Usage: python3 benchmarks/container_speed.py FOLDER
"""

from __future__ import annotations

import argparse
import os
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

from localsearch.ingest.containers import UnpackLimits, unpack
from localsearch.ingest.extract import ExtractionError, extract_file
from localsearch.ingest.types import FoundFile
from localsearch.ingest.walk import walk_roots


def extract_all(paths: list[Path]) -> tuple[int, int]:
    """(documents extracted, characters of text)."""
    documents = characters = 0
    for path in paths:
        try:
            characters += len(extract_file(path).text)
            documents += 1
        except ExtractionError:
            pass
    return documents, characters


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    folder = Path(os.path.abspath(args.folder))
    files = [item.path for item in walk_roots([folder]) if isinstance(item, FoundFile)]
    limits = UnpackLimits(max_entries=10**6, max_total_bytes=10**12)
    with tempfile.TemporaryDirectory() as scratch:
        archives = [Path(scratch) / "folder.zip", Path(scratch) / "folder.tar.gz"]
        with zipfile.ZipFile(archives[0], "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder).as_posix())
        with tarfile.open(archives[1], "w:gz") as tar:
            for path in files:
                tar.add(path, path.relative_to(folder).as_posix())

        started = time.perf_counter()
        documents, characters = extract_all(files)
        print(
            f"folder:  {len(files)} files, {documents} extracted, {characters} characters"
            f" in {time.perf_counter() - started:.2f}s"
        )
        for archive_path in archives:
            started = time.perf_counter()
            with unpack(archive_path, limits) as unpacked:
                unpacked_at = time.perf_counter()
                documents, characters = extract_all([m.path for m in unpacked.members])
                print(
                    f"{archive_path.name:<14} {archive_path.stat().st_size / 1e6:.1f} MB:"
                    f" {len(unpacked.members)} members ({len(unpacked.skipped)} refused),"
                    f" {documents} extracted, {characters} characters; unpack"
                    f" {unpacked_at - started:.2f}s + extract"
                    f" {time.perf_counter() - unpacked_at:.2f}s"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
