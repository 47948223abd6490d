"""Zero-copy float views straight from the data pages of a memory-mapped Parquet file.

Why: keypoints are a typed nested column (list<fixed_size_list<float32, 51>>) so that every
Parquet reader sees arrays, but Arrow decodes a nested column value by value (about 5 ns a
float: reading a 2-clip row group costs 3-6x what the format-1.0 binary column cost, see
benchmarks/measure_keypoint_format.py). The store writes that column uncompressed, PLAIN,
without a dictionary, non-null at every level, so a data page holds its rows' floats back to
back after the repetition/definition levels. This module finds them: it parses the page
header (Thrift compact protocol, the few fields needed), checks the page CRC once per page
and process, and hands out numpy views on the mmap: no decode and no copy per read.

Anything outside that layout (compressed, dictionary-encoded, no CRC, a row spanning two
pages) gives None, and the caller decodes the row group with Arrow instead.
"""
from __future__ import annotations

import mmap
import zlib
from pathlib import Path

import numpy as np

_DATA_PAGE, _DATA_PAGE_V2 = 0, 3
# Thrift compact protocol type ids
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)


class PageFormatError(ValueError):
    """A page that is not laid out as this module expects (the caller falls back to Arrow)."""


class PageChecksumError(ValueError):
    """A page whose bytes do not match its CRC (the caller reports the damaged shard)."""


def _varint(buf, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _skip(buf, i: int, kind: int) -> int:
    """Index just past one value of Thrift compact type `kind` starting at i."""
    if kind in (_TRUE, _FALSE):
        return i
    if kind == _BYTE:
        return i + 1
    if kind in (_I16, _I32, _I64):
        return _varint(buf, i)[1]
    if kind == _DOUBLE:
        return i + 8
    if kind == _BINARY:
        n, i = _varint(buf, i)
        return i + n
    if kind in (_LIST, _SET):
        head = buf[i]
        i += 1
        n, elem = head >> 4, head & 0x0F
        if n == 15:
            n, i = _varint(buf, i)
        for _ in range(n):
            i = _skip(buf, i, elem)
        return i
    if kind == _MAP:
        n, i = _varint(buf, i)
        if n:
            types = buf[i]
            i += 1
            for _ in range(n):
                i = _skip(buf, _skip(buf, i, types >> 4), types & 0x0F)
        return i
    if kind == _STRUCT:
        return _struct(buf, i, ())[1]
    raise PageFormatError(f"unknown Thrift compact type {kind}")


def _struct(buf, i: int, nested: tuple[int, ...]) -> tuple[dict, int]:
    """Integer and bool fields of a compact-protocol struct by field id; struct fields whose
    id is in `nested` parsed (their own nested structs skipped), everything else skipped."""
    out, field_id = {}, 0
    while True:
        head = buf[i]
        i += 1
        if head == 0:
            return out, i
        kind, delta = head & 0x0F, head >> 4
        if delta:
            field_id += delta
        else:
            raw, i = _varint(buf, i)
            field_id = _zigzag(raw)
        if kind in (_I16, _I32, _I64):
            raw, i = _varint(buf, i)
            out[field_id] = _zigzag(raw)
        elif kind in (_TRUE, _FALSE):
            out[field_id] = kind == _TRUE
        elif kind == _STRUCT and field_id in nested:
            out[field_id], i = _struct(buf, i, ())
        else:
            i = _skip(buf, i, kind)


class FloatPages:
    """The float32 data pages of one Parquet file, for zero-copy reads (see module docstring)."""

    def __init__(self, path: str | Path):
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._buf = memoryview(self._map)
        self._chunks: dict[int, list[tuple[int, int]]] = {}   # column chunk offset -> pages

    def pages(self, chunk_meta) -> list[tuple[int, int]]:
        """(byte offset of the first float, number of floats) of each data page of a column
        chunk (pyarrow ColumnChunkMetaData), CRCs checked on first use. Raises
        PageFormatError outside the expected layout, PageChecksumError on a bad CRC."""
        key = chunk_meta.data_page_offset
        if key not in self._chunks:
            self._chunks[key] = self._read_pages(chunk_meta)
        return self._chunks[key]

    def _read_pages(self, meta) -> list[tuple[int, int]]:
        if (meta.compression != "UNCOMPRESSED" or meta.has_dictionary_page
                or meta.physical_type != "FLOAT" or "PLAIN" not in meta.encodings):
            raise PageFormatError(f"column chunk is {meta.compression}, {meta.encodings}, "
                                  f"{meta.physical_type}: not plain uncompressed floats")
        buf, pos, end, pages = self._buf, meta.data_page_offset, meta.data_page_offset + meta.total_compressed_size, []
        while pos < end:
            header, body = _struct(buf, pos, (5, 8))
            size = header.get(3, -1)
            if 4 not in header or size < 0 or body + size > len(buf):
                raise PageFormatError("page without a CRC or with a bad size")
            if zlib.crc32(buf[body:body + size]) != header[4] & 0xFFFFFFFF:
                raise PageChecksumError(f"page at byte {pos} does not match its CRC")
            pages.append(_values_of(buf, header, body))
            pos = body + size
        return pages

    def view(self, chunk_meta, start: int, count: int) -> np.ndarray:
        """Read-only float32 view of floats [start, start + count) of a column chunk (counted
        from its first value). PageFormatError when they span two pages."""
        pages = self.pages(chunk_meta)
        if sum(n for _, n in pages) != chunk_meta.num_values:
            raise PageFormatError("the pages' value counts do not add up to the column chunk's")
        first = 0
        for offset, n in pages:
            if first <= start and start + count <= first + n:
                view = np.frombuffer(self._buf, np.float32, count, offset + 4 * (start - first))
                view.flags.writeable = False
                return view
            first += n
        raise PageFormatError(f"floats [{start}, {start + count}) are not inside one data page")


def _values_of(buf, header: dict, body: int) -> tuple[int, int]:
    """(offset of the first value, number of values) of a data page starting at `body`."""
    kind = header.get(1)
    if kind == _DATA_PAGE_V2 and 8 in header:
        v2 = header[8]
        if v2.get(7, True) or v2.get(2, 0):
            raise PageFormatError("compressed V2 page or page with nulls")
        return body + v2[5] + v2[6], v2[1]
    if kind == _DATA_PAGE and 5 in header:
        # V1 body: repetition levels, then definition levels, each prefixed by its 4-byte length
        # (the store's keypoints column always has both: a list of lists).
        rep = int.from_bytes(buf[body:body + 4], "little")
        dfn_at = body + 4 + rep
        dfn = int.from_bytes(buf[dfn_at:dfn_at + 4], "little")
        return dfn_at + 4 + dfn, header[5][1]
    raise PageFormatError(f"page type {kind} is not a data page")
