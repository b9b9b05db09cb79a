"""The zip archive ``torch.save`` writes for one bare float32 tensor, written without importing torch.

``vecload convert`` never needs torch itself: importing it costs about two seconds and 200 MiB, more than
reading a 400,000 x 50 GloVe file. So the archive is written here, record for record as torch 2.x writes it
(tests compare the records with ``torch.save``'s, byte for byte):

- ``archive/data.pkl``: a protocol-2 pickle of ``torch._utils._rebuild_tensor_v2(storage, 0, shape,
  stride, False, OrderedDict())`` whose storage is the persistent id ``('storage', torch.FloatStorage, '0',
  'cpu', numel)``; ``torch.load(..., weights_only=True)`` accepts exactly these globals;
- ``archive/.format_version`` ``1``, ``archive/.storage_alignment`` ``64``, ``archive/byteorder`` ``little``;
- ``archive/data/0``: the raw little-endian float32 values, starting at a multiple of 64 bytes in the file
  (padded with an extra field, as torch does), so a memory-mapped load is aligned;
- ``archive/version`` ``3``, and ``archive/.data/serialization_id`` (torch writes random digits; here they
  are derived from the table's shape (see store.write), so the same table always gives the same file).

Every record is stored (not compressed) with its CRC-32, zip64 where a size needs it.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable, Iterable
from typing import BinaryIO

import numpy as np

from vecload.store.direct import DIRECT_BYTES, PIECE, DirectWrites

ROOT = "archive"
ALIGNMENT = 64
_CHUNK = PIECE  # the values are written a chunk at a time: each one large enough to go directly
_PADDING_ID = 0x4246  # the extra field id torch pads with ("FB")
_LOCAL_HEADER = 30
_ZIP64_EXTRA = 20  # what zipfile appends to a local header written with force_zip64


def write_archive(fh: BinaryIO, array: np.ndarray, serial: str, records: Iterable[tuple[str, bytes | bytearray]],
                  progress: Callable[[int], None] | None = None) -> None:
    """Write the archive of the bare tensor ``array`` (2-D float32), then ``records`` under the same root.

    Args:
        fh: A seekable binary file, at its start.
        array: The table (C-contiguous float32, two dimensions).
        serial: Decimal digits for the serialization id record.
        records: More ``(name, bytes)`` records, named under the root folder (``vecload/tokens.json``),
            taken once the values are written (so a record may depend on work done meanwhile).
        progress: Called with the number of bytes of values written, chunk by chunk.
    """
    if array.nbytes < DIRECT_BYTES or not DirectWrites.suits(fh):
        _write_records(fh, array, serial, records, progress)
        return
    with DirectWrites(fh) as direct:  # a large table goes past the page cache: see vecload.store.direct
        _write_records(direct, array, serial, records, progress)


def _write_records(fh: BinaryIO, array: np.ndarray, serial: str, records: Iterable[tuple[str, bytes | bytearray]],
                   progress: Callable[[int], None] | None) -> None:
    rows, dim = array.shape
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        _record(archive, "data.pkl", tensor_pickle(rows, dim))
        _record(archive, ".format_version", b"1")
        _record(archive, ".storage_alignment", str(ALIGNMENT).encode())
        _record(archive, "byteorder", b"little")
        _values(archive, fh, array, progress)
        _record(archive, "version", b"3\n")
        _record(archive, ".data/serialization_id", serial.encode())
        for name, data in records:
            _record(archive, name, data)


def tensor_pickle(rows: int, dim: int) -> bytes:
    """The ``data.pkl`` torch writes for a contiguous float32 tensor of shape ``(rows, dim)``."""
    storage = (b"(X\x07\x00\x00\x00storageq\x01ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x000q\x03"
               b"X\x03\x00\x00\x00cpuq\x04" + pickle_int(rows * dim) + b"tq\x05Q")
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00(" + storage + pickle_int(0)
            + pickle_int(rows) + pickle_int(dim) + b"\x86q\x06" + pickle_int(dim) + pickle_int(1)
            + b"\x86q\x07\x89ccollections\nOrderedDict\nq\x08)Rq\ttq\nRq\x0b.")


def pickle_int(n: int) -> bytes:
    """A non-negative int as pickle protocol 2 writes it (BININT1, BININT2, BININT or LONG1)."""
    if n < 0x100:
        return b"K" + bytes([n])
    if n < 0x10000:
        return b"M" + struct.pack("<H", n)
    if n < 0x80000000:
        return b"J" + struct.pack("<i", n)
    body = n.to_bytes((n.bit_length() + 8) // 8, "little")  # room for the sign bit
    return b"\x8a" + bytes([len(body)]) + body


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{ROOT}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    return info


def _record(archive: zipfile.ZipFile, name: str, data: bytes | bytearray) -> None:
    archive.writestr(_info(name), data)


def _values(archive: zipfile.ZipFile, fh: BinaryIO, array: np.ndarray, progress: Callable[[int], None] | None) -> None:
    """The tensor's bytes, starting at a multiple of :data:`ALIGNMENT`, written a chunk at a time."""
    data = np.ascontiguousarray(array, dtype="<f4").reshape(-1).view(np.uint8)
    info = _info("data/0")
    info.file_size = len(data)
    big = len(data) * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own rule: it adds the zip64 extra from here
    start = fh.tell() + _LOCAL_HEADER + len(info.filename.encode()) + (_ZIP64_EXTRA if big else 0) + 4
    pad = -start % ALIGNMENT
    info.extra = struct.pack("<HH", _PADDING_ID, pad) + b"Z" * pad
    with archive.open(info, "w", force_zip64=big) as out:
        for begin in range(0, len(data), _CHUNK):
            chunk = data[begin : begin + _CHUNK]
            out.write(chunk)
            if progress is not None:
                progress(len(chunk))
