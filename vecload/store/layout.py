"""The converted file's layout: its records' names and size bounds, the tokens' encoding and the tensor's
fingerprint (see :mod:`vecload.store`)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from vecload._memory import own_array
from vecload.errors import VecloadError

KIND = "vecload-table"
LAYOUT = 2
META_RECORD = "vecload/meta.json"
TOKENS_RECORD = "vecload/tokens.json"
#: What vecload 0.1 wrote beside the tensor; such pairs are refused with a message to convert again.
LEGACY_VOCAB_SUFFIX = ".vocab.json"
# A record may hold 64 MiB plus 256 bytes a row (tokens, or per-row alignment metadata): generous for any
# real vocabulary, and a bound on what a hostile file can make vecload read and parse.
CAP_FIXED = 64 << 20
CAP_PER_ROW = 256
# The pickle of a bare tensor is a few hundred bytes; a larger one is not a table vecload wrote.
PICKLE_CAP = 64 << 10
DESCRIBE_PICKLE_CAP = 64 << 20
# The fingerprint checked on every load: the first and last rows, plus rows spread through the table.
# Few spread rows, because each one faults in a whole readahead window of a memory-mapped file.
_SAMPLE_EDGE = 256
_SAMPLE_SPREAD = 16
HEX64 = re.compile(r"[0-9a-f]{64}")
# Characters on which str.splitlines (and many tools) break a line: such tokens need JSON lines.
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def record_cap(rows: int) -> int:
    """The largest vecload record a table of ``rows`` rows may hold: 64 MiB + 256 bytes per row."""
    return CAP_FIXED + CAP_PER_ROW * rows


#: Tokens encoded, hashed or checked at a time (small temporaries, whatever the count).
_SLICE = 1 << 16


def encode_tokens(tokens: list[str]) -> bytearray:
    """The tokens record: a compact JSON array in UTF-8, hashed as it is stored.

    Encoded a slice at a time into one buffer: the whole array as a str and then as bytes held the record
    twice (44 MB for glove.840B's 2.2M tokens, at the peak of a conversion's memory).
    """
    record, at = bytearray(b"["), 1  # at: characters of the JSON text so far, for the error's position
    for start in range(0, len(tokens), _SLICE):
        text = json.dumps(tokens[start : start + _SLICE], ensure_ascii=False, separators=(",", ":"))[1:-1]
        try:
            record += (b"," if start else b"") + text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise VecloadError(f"a token is not valid Unicode text ({exc.reason} at {at + (start > 0) + exc.start})") from exc
        at += (start > 0) + len(text)
    record += b"]"
    return record


def fingerprint(array: np.ndarray) -> dict[str, Any]:
    """An exact fingerprint of a float32 table: its shape, a hash of sampled rows, and a hash of all bytes."""
    return {
        "dtype": "float32",
        "shape": list(array.shape),
        "sample_sha256": sample_hash(array),
        "sha256": full_hash(array),
    }


def sample_rows(count: int) -> np.ndarray:
    """The rows the load-time fingerprint hashes: the first and last 256, and 16 spread evenly."""
    spread = np.linspace(0, max(count - 1, 0), num=min(count, _SAMPLE_SPREAD), dtype=np.int64).tolist()
    rows = {*range(min(count, _SAMPLE_EDGE)), *range(max(count - _SAMPLE_EDGE, 0), count), *spread}
    # sorted in Python: np.unique's first call costs more than the whole hash (a lazy import)
    return np.array(sorted(rows), dtype=np.int64)


def full_hash(array: np.ndarray) -> str:
    """sha256 of every byte, without copying (an empty table hashes as no bytes)."""
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8)).hexdigest()


def sample_hash(array: np.ndarray) -> str:
    """A hash of the shape and the :func:`sample_rows`, cheap on a memory-mapped tensor."""
    digest = hashlib.sha256(repr(array.shape).encode())
    if array.shape[0]:
        digest.update(np.ascontiguousarray(array[sample_rows(array.shape[0])]).tobytes())
    return digest.hexdigest()


def distinct(tokens: Sequence[str]) -> bool:
    """True when no token repeats.

    Sorting the tokens' 64-bit hashes costs 30 ms for 400,000 tokens against 50-110 ms for a set of
    them (which must also grow its table and hold every string); equal hashes, almost always a repeat,
    are settled exactly by a set. The hashes stay cached in the strings for the first lookup's index.
    They are taken a slice at a time into an array of their own (see :func:`vecload._memory.own_array`).
    """
    hashes = own_array(len(tokens), np.int64)
    for start in range(0, len(tokens), _SLICE):
        part = tokens[start : start + _SLICE]
        hashes[start : start + len(part)] = np.fromiter(map(hash, part), dtype=np.int64, count=len(part))
    hashes.sort()
    if not (hashes[1:] == hashes[:-1]).any():
        return True
    return len(set(tokens)) == len(tokens)


def all_strings(items: list) -> bool:
    """True when every item is a str (``str.join`` checks that in C, twice as fast as collecting types; a
    slice at a time, so the joined text stays small)."""
    try:
        for start in range(0, len(items), _SLICE):
            "".join(items[start : start + _SLICE])
    except TypeError:
        return False
    return True
