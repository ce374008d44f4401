"""A minimal real Outlook .msg, written as a Compound File (CFB v3) byte by byte.

olefile reads compound files but cannot write them, and extract-msg (which can) is GPL; the
format is small enough to write for a test: a header, one FAT sector, the directory, the mini
FAT and the mini stream that holds every stream under 4096 bytes. The property streams are
named as Outlook names them (MS-OXMSG): __substg1.0_<tag><type>.
"""

from __future__ import annotations

import struct
from pathlib import Path

_SECTOR = 512
_MINI = 64
_FREE, _END, _FAT_SECTOR = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def write_msg(path: Path, streams: dict[str, bytes]) -> Path:
    """A compound file holding `streams` ("name" or "storage/name"), each under 4096 bytes."""
    # Directory: root, then storages and streams; children chained through right siblings.
    entries: list[dict[str, object]] = [{"name": "Root Entry", "type": 5, "children": []}]
    storages: dict[str, int] = {}
    for full_name, data in streams.items():
        assert len(data) < 4096
        parent = 0
        if "/" in full_name:
            storage, name = full_name.split("/", 1)
            if storage not in storages:
                storages[storage] = len(entries)
                entries.append({"name": storage, "type": 1, "children": []})
                entries[0]["children"].append(storages[storage])  # type: ignore[attr-defined]
            parent = storages[storage]
        else:
            name = full_name
        entries.append({"name": name, "type": 2, "data": data, "children": []})
        entries[parent]["children"].append(len(entries) - 1)  # type: ignore[attr-defined]

    mini_stream = b""
    mini_fat: list[int] = []
    for entry in entries:
        data = entry.get("data")
        if not isinstance(data, bytes):
            continue
        count = max(1, -(-len(data) // _MINI))
        entry["start"] = len(mini_fat) if data else _END
        first = len(mini_fat)
        mini_fat.extend(first + i + 1 for i in range(count - 1))
        mini_fat.append(_END)
        mini_stream += data.ljust(count * _MINI, b"\0")

    directory = b"".join(_directory_entry(entries, i) for i in range(len(entries)))
    directory = directory.ljust(-(-len(directory) // _SECTOR) * _SECTOR, b"\0")
    mini_fat_bytes = b"".join(struct.pack("<I", n) for n in mini_fat)
    mini_fat_bytes = mini_fat_bytes.ljust(-(-len(mini_fat_bytes) // _SECTOR) * _SECTOR, b"\xff")
    mini_stream = mini_stream.ljust(-(-len(mini_stream) // _SECTOR) * _SECTOR, b"\0")

    dir_sectors = len(directory) // _SECTOR
    mini_fat_sectors = len(mini_fat_bytes) // _SECTOR
    stream_sectors = len(mini_stream) // _SECTOR
    dir_start = 1
    mini_fat_start = dir_start + dir_sectors
    stream_start = mini_fat_start + mini_fat_sectors
    fat = [_FAT_SECTOR]
    for start, count in (
        (dir_start, dir_sectors),
        (mini_fat_start, mini_fat_sectors),
        (stream_start, stream_sectors),
    ):
        fat.extend(start + i + 1 for i in range(count - 1))
        fat.append(_END)
    assert len(fat) <= _SECTOR // 4
    fat_bytes = b"".join(struct.pack("<I", n) for n in fat).ljust(_SECTOR, b"\xff")

    # The root entry's stream is the mini stream.
    root = bytearray(directory[:128])
    struct.pack_into("<IQ", root, 116, stream_start, len(mini_stream))
    directory = bytes(root) + directory[128:]

    header = bytearray(_SECTOR)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<II", header, 44, 1, dir_start)  # FAT sectors, first directory sector
    struct.pack_into("<III", header, 56, 4096, mini_fat_start, mini_fat_sectors)
    struct.pack_into("<II", header, 68, _END, 0)  # no DIFAT sectors
    difat = [0] + [_FREE] * 108
    struct.pack_into("<109I", header, 76, *difat)
    path.write_bytes(bytes(header) + fat_bytes + directory + mini_fat_bytes + mini_stream)
    return path


def _directory_entry(entries: list[dict[str, object]], index: int) -> bytes:
    entry = entries[index]
    name = str(entry["name"])
    encoded = utf16(name) + b"\0\0"
    children: list[int] = entry["children"]  # type: ignore[assignment]
    sibling = _NO_STREAM
    for parent in entries:
        kids: list[int] = parent["children"]  # type: ignore[assignment]
        if index in kids and kids.index(index) + 1 < len(kids):
            sibling = kids[kids.index(index) + 1]
    data = entry.get("data")
    start = entry.get("start", _END) if isinstance(data, bytes) else 0
    size = len(data) if isinstance(data, bytes) else 0
    record = bytearray(128)
    record[0 : len(encoded)] = encoded
    struct.pack_into("<HBB", record, 64, len(encoded), int(entry["type"]), 1)  # type: ignore[call-overload]
    struct.pack_into(
        "<III", record, 68, _NO_STREAM, sibling, children[0] if children else _NO_STREAM
    )
    struct.pack_into("<IQ", record, 116, start, size)
    return bytes(record)


def outlook_message(path: Path) -> Path:
    """A .msg with sender, recipients, subject, date, a plain body and one attachment."""
    submit_time = 133_550_000_000_000_000  # 100 ns ticks since 1601: 2024-03-15
    properties = bytearray(32) + struct.pack("<IIQ", 0x00390040, 6, submit_time)
    attachment = "__attach_version1.0_#00000000"
    return write_msg(
        path,
        {
            "__substg1.0_0037001F": utf16("Quarterly lighthouse inspection"),
            "__substg1.0_0C1A001F": utf16("Maren Holt"),
            "__substg1.0_0C1F001F": utf16("maren@example.org"),
            "__substg1.0_0E04001F": utf16("Keepers Guild"),
            "__substg1.0_1000001F": utf16("The Fresnel lens at Skerry Point needs regrinding."),
            "__properties_version1.0": bytes(properties),
            f"{attachment}/__substg1.0_3707001F": utf16("lamp-log.txt"),
            f"{attachment}/__substg1.0_37010102": b"Lamp hours logged: 8761 in 2023.\n",
        },
    )
