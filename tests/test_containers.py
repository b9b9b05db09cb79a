"""Containers and bounds: xz streams, zip and tar members, decompression bombs, and what a read leaves behind."""

from __future__ import annotations

import bz2
import hashlib
import gzip
import io
import lzma
import os
import re
import signal
import struct
import subprocess
import sys
import tarfile
import textwrap
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import vecload

from vecload.errors import FormatError, ParseError
from vecload.formats import ReadOptions, Tuning, open_source, read_table

from tests.helpers import FIXTURES, ROOT

GLOVE = (FIXTURES / "tiny.glove.txt").read_bytes()
W2V = (FIXTURES / "tiny.w2v.txt").read_bytes()
COMPRESS = {
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),  # legacy .lzma, as AllenNLP reads
}


def tar_bytes(members: dict[str, bytes], compression: str | None = None) -> bytes:
    """A ustar archive of ``members``, compressed as asked."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    raw = out.getvalue()
    return COMPRESS[compression](raw) if compression else raw


def many_member_zip(path: Path, count: int, last: bytes) -> None:
    """A stored zip of ``count`` empty members ``m0``... then one member ``last.txt``, built with struct."""
    body = io.BytesIO()
    central = io.BytesIO()
    names = [f"m{i}".encode() for i in range(count)] + [b"last.txt"]
    for name in names:
        data = last if name == b"last.txt" else b""
        crc = zlib.crc32(data)
        offset = body.tell()
        body.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, crc, len(data), len(data), len(name), 0))
        body.write(name + data)
        central.write(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, crc, len(data), len(data),
                                  len(name), 0, 0, 0, 0, 0, offset) + name)
    directory = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory), body.tell(), 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, body.tell() + len(directory), 1)
    end64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, len(names), len(names), len(directory), body.tell())
    path.write_bytes(body.getvalue() + directory + end64 + locator + end)


def ustar_header(name: bytes, size: int) -> bytes:
    """One ustar header block for a regular file (tarfile's layout, written directly to build 100k fast)."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:148] = b"0000644\x000000000\x000000000\x00" + b"%011o\x00" % size + b"00000000000\x00"
    block[148:156] = b" " * 8
    block[156:157] = b"0"
    block[257:265] = b"ustar\x0000"
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def many_member_tar_gz(path: Path, count: int, last: bytes) -> None:
    """A gzip-compressed tar of ``count`` empty members ``m0``... then one member ``last.txt``."""
    empty = b"".join(ustar_header(b"m%d" % i, 0) for i in range(count))
    padding = b"\0" * (-len(last) % 512)
    path.write_bytes(gzip.compress(empty + ustar_header(b"last.txt", len(last)) + last + padding + b"\0" * 1024, 1))


@pytest.mark.parametrize("compression", [None, "gzip", "bz2", "xz", "lzma"])
def test_tar_member_reads_like_the_plain_file(tmp_path: Path, compression: str | None) -> None:
    """A member of a tar, tar.gz, tar.bz2 or tar.xz, named as archive:member or member=, is read exactly."""
    path = tmp_path / "vectors.tar.bin"  # the name says nothing: magic bytes decide
    path.write_bytes(tar_bytes({"glove/tiny.glove.txt": GLOVE, "tiny.w2v.txt": W2V}, compression))
    plain = read_table(FIXTURES / "tiny.glove.txt")
    for table in (read_table(f"{path}:glove/tiny.glove.txt"), read_table(path, member="glove/tiny.glove.txt")):
        assert table.format == "glove" and table.tokens == plain.tokens
        assert table.vectors.tobytes() == plain.vectors.tobytes()
    source = open_source(f"{path}:tiny.w2v.txt")
    assert (source.archive, source.compression, source.stem) == ("tar", compression, "tiny")
    assert read_table(source).tokens == plain.tokens


@pytest.mark.parametrize("layout", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["ustar", "gnu", "pax"])
def test_tar_long_member_names_in_every_layout(tmp_path: Path, layout: int) -> None:
    """Names past 100 bytes (a ustar prefix, a GNU long-name record, a pax path) are found and listed."""
    name = "vectors/" + "d" * 90 + "/glove.txt"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=layout) as archive:
        for member in (name, "other.txt"):
            info = tarfile.TarInfo(member)
            info.size = len(GLOVE)
            archive.addfile(info, io.BytesIO(GLOVE))
    path = tmp_path / "long.tar"
    path.write_bytes(out.getvalue())
    assert read_table(f"{path}:{name}").tokens == ["the", "of", "café", "u.s."]
    with pytest.raises(FormatError, match=rf"with 2 members \(members: {name}, other\.txt\); name one"):
        read_table(path)


def test_xz_stream_reads_like_the_plain_file(tmp_path: Path) -> None:
    """An xz stream (which gensim and AllenNLP read) is detected by its magic bytes and read exactly."""
    path = tmp_path / "vectors.txt"
    path.write_bytes(lzma.compress(W2V))
    table = read_table(path)
    plain = read_table(FIXTURES / "tiny.w2v.txt")
    assert open_source(path).compression == "xz" and table.format == "word2vec"
    assert table.tokens == plain.tokens and table.vectors.tobytes() == plain.vectors.tobytes()


def test_legacy_lzma_stream_is_detected_by_its_header_and_bounded(tmp_path: Path) -> None:
    """A legacy .lzma stream (AllenNLP reads .txt.lzma and .tar.lzma) has no magic bytes: its header is
    checked as xz's own detection checks it, and it is read exactly and bounded like every stream."""
    path = tmp_path / "vectors.lzma"
    for preset in (0, 6, 9 | lzma.PRESET_EXTREME):
        path.write_bytes(lzma.compress(W2V, format=lzma.FORMAT_ALONE, preset=preset))
        table, plain = read_table(path), read_table(FIXTURES / "tiny.w2v.txt")
        assert open_source(path).compression == "lzma" and table.format == "word2vec"
        assert table.tokens == plain.tokens and table.vectors.tobytes() == plain.vectors.tobytes()
    row = b"w " + b" ".join([b"0.5"] * 100) + b"\n"
    path.write_bytes(lzma.compress(row * ((20 << 20) // len(row)), format=lzma.FORMAT_ALONE, preset=0))
    with pytest.raises(ParseError, match=r"vectors\.lzma: byte \d+: the lzma stream inflates past 1,048,576 bytes"):
        read_table(path, options=ReadOptions(max_bytes=1 << 20))
    for fixture in FIXTURES.glob("*.*"):  # no plain text or word2vec binary file passes the header check
        if fixture.suffix != ".zip":
            assert open_source(fixture).compression != "lzma", fixture


def test_tar_with_one_member_reads_it_and_with_several_lists_them(tmp_path: Path) -> None:
    """One vector-like member (folders and empty files aside) is read; several are listed, 20 and a count."""
    one = tmp_path / "one.tar.gz"
    one.write_bytes(tar_bytes({"data/": b"", "empty.txt": b"", "data/glove.txt": GLOVE}, "gzip"))
    assert read_table(one).tokens == ["the", "of", "café", "u.s."]
    many = tmp_path / "many.tar.xz"
    many.write_bytes(tar_bytes({f"v{i:02}.txt": GLOVE for i in range(25)}, "xz"))
    with pytest.raises(FormatError, match=r"many\.tar\.xz: is a tar archive with 25 members \(members: v00\.txt, v01\.txt, "
                                          r".*v19\.txt and 5 more\); name one as .*many\.tar\.xz:MEMBER or with "
                                          r"member=MEMBER"):
        read_table(many)
    with pytest.raises(FormatError, match=r"many\.tar\.xz: has no member 'v25\.txt' \(members: v00\.txt"):
        read_table(f"{many}:v25.txt")


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_tar_header_with_a_negative_size_is_refused_not_looped_on(tmp_path: Path, compression: str | None) -> None:
    """A header whose GNU base-256 size is negative (-512) is damage: refused at its offset, in a child
    process so that the walk going backwards forever (as tarfile does) fails the test instead of hanging it."""
    raw = bytearray(tar_bytes({"a.txt": GLOVE, "b.txt": GLOVE}))
    second = 512 + (len(GLOVE) + 511) // 512 * 512
    raw[second + 124 : second + 136] = b"\xff" + ((1 << 88) - 512).to_bytes(11, "big")
    raw[second + 148 : second + 156] = b" " * 8
    raw[second + 148 : second + 156] = b"%06o\x00 " % sum(raw[second : second + 512])
    path = tmp_path / "negative.tar"
    path.write_bytes(COMPRESS[compression](bytes(raw)) if compression else bytes(raw))
    for target in (path, f"{path}:b.txt"):
        outcome, _ = _read_in_child(str(target), timeout=30)
        assert outcome == f"{path}: damaged tar archive (negative member size at byte {second}); download it again"


def test_tar_header_with_a_size_that_is_not_octal_is_damage(tmp_path: Path) -> None:
    """A header whose size field is not octal (with a checksum that still matches) is a damaged archive, not
    a raw ValueError."""
    raw = bytearray(tar_bytes({"a.txt": GLOVE, "b.txt": GLOVE}))
    second = 512 + (len(GLOVE) + 511) // 512 * 512
    raw[second + 124 : second + 136] = b"0000000001x\x00"
    raw[second + 148 : second + 156] = b" " * 8
    raw[second + 148 : second + 156] = b"%06o\x00 " % sum(raw[second : second + 512])
    path = tmp_path / "octal.tar"
    path.write_bytes(bytes(raw))
    for target in (path, f"{path}:b.txt"):
        with pytest.raises(FormatError, match=rf"octal\.tar: damaged tar archive \(the member size at byte {second} is not "
                                              r"a number\); download it again"):
            read_table(target)


@pytest.mark.parametrize("compression", [None, "gzip", "xz", "lzma"])
def test_truncated_tar_member_is_a_parse_error_with_offset(tmp_path: Path, compression: str | None) -> None:
    """A tar (or compressed tar) cut inside the member is reported with the member and the offset reached."""
    body = b"".join(b"w%d 1.5 2.5\n" % i for i in range(20000))
    raw = tar_bytes({"big.txt": body})
    cut = tmp_path / "cut.tar"
    cut.write_bytes((COMPRESS[compression] if compression else bytes)(raw[: 512 + len(body) // 2]))
    with pytest.raises(ParseError, match=r"cut\.tar:big\.txt: byte \d+: the (tar|gzip|xz|lzma) stream is truncated or damaged"):
        read_table(cut)


def test_zip_member_damage_is_found_by_size_and_crc(tmp_path: Path) -> None:
    """A stored zip member whose bytes changed is refused by its CRC-32, with the offset reached."""
    path = tmp_path / "v.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("v.txt", GLOVE)
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"the 0.418") + 5] ^= 1  # still a digit: only the checksum tells
    path.write_bytes(bytes(raw))
    with pytest.raises(ParseError, match=r"v\.zip:v\.txt: byte \d+: the zip stream is truncated or damaged .*CRC-32"):
        read_table(path)


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "zip"])
def test_a_later_copy_of_a_member_is_the_one_read(tmp_path: Path, kind: str) -> None:
    """A member appended again (`tar -r` / `tar -u` add the new copy after the old one; a zip may hold one name
    twice) reads as its last copy, the one tar, zipfile and unzip extract, named or not (the first, stale copy
    was read)."""
    path = tmp_path / f"updated.{kind}"
    copies = [b"stale 0.5 0.5\n", GLOVE]
    if kind == "zip":
        with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as archive:
            for data in copies:
                archive.writestr("v.txt", data)
    else:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            for data in copies:
                info = tarfile.TarInfo("v.txt")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        path.write_bytes(gzip.compress(out.getvalue()) if kind == "tar.gz" else out.getvalue())
    expected = read_table(FIXTURES / "tiny.glove.txt").tokens
    assert read_table(f"{path}:v.txt").tokens == expected
    assert read_table(path).tokens == expected


def test_lzma_zip_member_is_the_entry_located_and_zipfile_errors_are_damage(tmp_path: Path) -> None:
    """An LZMA member (read through zipfile) is the entry vecload located, opened by its offset, not by its
    name; zipfile's own error on a name that is not UTF-8 is a damaged archive, not a raw UnicodeDecodeError."""
    path = tmp_path / "twice.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("v.txt"), b"other 1.5\n", compress_type=zipfile.ZIP_STORED)
        archive.writestr(zipfile.ZipInfo("v.txt"), GLOVE, compress_type=zipfile.ZIP_LZMA)
    assert read_table(f"{path}:v.txt").tokens == read_table(FIXTURES / "tiny.glove.txt").tokens
    path = tmp_path / "badname.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("v.txt"), GLOVE, compress_type=zipfile.ZIP_LZMA)
        archive.writestr("\u00e9x.txt", b"")  # a UTF-8 name (flag 0x800)
    raw = bytearray(path.read_bytes())
    raw[raw.rindex("\u00e9x".encode())] = 0xFF  # in the central directory: no longer UTF-8
    path.write_bytes(bytes(raw))
    with pytest.raises(ParseError, match=r"badname\.zip:v\.txt: damaged zip archive \('utf-8' codec can't decode"):
        read_table(f"{path}:v.txt")


def test_zip64_extra_field_shorter_than_it_claims_is_damage(tmp_path: Path) -> None:
    """A central directory entry whose zip64 field claims 24 bytes but holds 8 is a damaged archive (it raised
    struct.error)."""
    name, crc = b"v.txt", zlib.crc32(GLOVE)
    local = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, crc, len(GLOVE), len(GLOVE), len(name), 0)
    extra = struct.pack("<2HQ", 1, 24, len(GLOVE))
    central = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, crc, 0xFFFFFFFF, len(GLOVE),
                          len(name), len(extra), 0, 0, 0, 0, 0) + name + extra
    body = local + name + GLOVE
    path = tmp_path / "short64.zip"
    path.write_bytes(body + central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(body), 0))
    for target in (path, f"{path}:v.txt"):
        with pytest.raises(FormatError, match=r"short64\.zip: damaged zip archive \(bad zip64 extra field\); download it again"):
            read_table(target)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_members_of_every_method_and_zip64_read_exactly(tmp_path: Path, method: int) -> None:
    """Stored, deflate, bzip2 and LZMA members, with zip64 sizes, read like the plain file."""
    path = tmp_path / "v.zip"
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("folder/", b"")
        with archive.open("folder/w2v.txt", "w", force_zip64=True) as member:
            member.write(W2V)
    table = read_table(path)
    plain = read_table(FIXTURES / "tiny.w2v.txt")
    assert table.tokens == plain.tokens and table.vectors.tobytes() == plain.vectors.tobytes()


_MEASURE = """
import resource, sys
sys.path.insert(0, sys.argv[1])
from vecload.errors import VecloadError
from vecload.formats import ReadOptions, read_table
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    options = ReadOptions(max_bytes=int(sys.argv[3])) if len(sys.argv) > 3 else None
    outcome = read_table(sys.argv[2], options=options).tokens
except VecloadError as exc:
    outcome = str(exc)
print(repr(outcome), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) >> 10)
"""


def _read_in_child(target: str, *args: str, timeout: float = 120) -> tuple[list[str] | str, int]:
    """Read ``target`` in a fresh interpreter; return its tokens (or error message) and how many MiB its
    peak RSS grew by."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(ROOT), target, *args], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome, grown = done.stdout.rsplit(" ", 1)
    return eval(outcome), int(grown)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_one_member_of_a_50k_member_archive_opens_in_bounded_memory(tmp_path: Path, kind: str) -> None:
    """The last of 50,001 members (zip64, or tar.gz) is found by streaming the zip's central directory or
    the tar's headers: peak RSS grows by a few MiB, not one ZipInfo per member (zipfile: about 50 MB)."""
    path = tmp_path / f"many.{kind}"
    (many_member_zip if kind == "zip" else many_member_tar_gz)(path, 50_000, GLOVE)
    tokens, grown = _read_in_child(f"{path}:last.txt")
    assert tokens == ["the", "of", "café", "u.s."]
    assert grown < 32, grown
    tokens, grown = _read_in_child(str(path))  # unnamed: the only non-empty member, after scanning them all
    assert tokens == ["the", "of", "café", "u.s."] and grown < 32, grown


def glove_bomb(total: int, compression: str) -> bytes:
    """A GloVe stream of one row repeated, inflating to about ``total`` bytes: the same compressed member
    (gzip, bz2, xz) repeated, as those formats allow, so it is built in milliseconds."""
    row = b"w " + b" ".join([b"0.5"] * 100) + b"\n"
    unit = row * ((1 << 20) // len(row))
    packed = COMPRESS[compression](unit)
    return packed * (total // len(unit))


@pytest.mark.parametrize("container", ["gzip", "bz2", "xz", "zip", "tar.gz"])
def test_stream_past_max_bytes_is_refused_as_it_is_read(tmp_path: Path, container: str) -> None:
    """A stream inflating to 20 MiB is refused once it passes max_bytes (1 MiB here), naming the bound
    and how to raise it; with the bound raised, its one row is read and the repeats reported."""
    path = tmp_path / "bomb.txt"
    if container == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("bomb.txt", gzip.decompress(glove_bomb(20 << 20, "gzip")))
    elif container == "tar.gz":
        body = gzip.decompress(glove_bomb(20 << 20, "gzip"))
        path.write_bytes(gzip.compress(ustar_header(b"bomb.txt", len(body)) + body + bytes(-len(body) % 512 + 1024)))
        path = Path(f"{path}:bomb.txt")
    else:
        path.write_bytes(glove_bomb(20 << 20, container))
    kind = {"tar.gz": "gzip"}.get(container, container)
    # a tar is walked to its end (a later copy of the member would be the one to read) before it is read
    error, where = (FormatError, "cannot list the members of this gzip-compressed tar archive: ") if container == "tar.gz" \
        else (ParseError, r"byte \d+: ")
    with pytest.raises(error, match=rf"bomb\.txt: {where}the {kind} stream inflates past 1,048,576 bytes \(the "
                                         r"max_bytes given\): a decompression bomb\? If the file is genuine, raise the "
                                         r"bound with max_bytes= \(CLI --max-bytes\)"):
        read_table(path, options=ReadOptions(max_bytes=1 << 20))
    table = read_table(path, options=ReadOptions(max_bytes=64 << 20))
    assert table.tokens == ["w"] and table.report.duplicates == table.report.rows_read - 1 > 40_000


def test_tar_member_behind_more_than_max_bytes_is_a_parse_error(tmp_path: Path) -> None:
    """A member whose data starts past max_bytes in a tar.gz is refused with the bound's message when the
    bytes before it are skipped (that skip once escaped as a private exception, a CLI traceback)."""
    from vecload.cli import main

    path = tmp_path / "late.tar.gz"
    path.write_bytes(gzip.compress(tar_bytes({"pad.txt": b"x" * (1 << 20), "v.txt": GLOVE})))
    source = open_source(f"{path}:v.txt")  # found under the default bound
    with pytest.raises(ParseError, match=r"late\.tar\.gz:v\.txt: byte 0: the gzip stream inflates past 100,000 bytes "
                                         r"\(the max_bytes given\)"):
        read_table(source, options=ReadOptions(max_bytes=100_000))
    out = tmp_path / "out.pth"
    result = CliRunner().invoke(main, ["convert", f"{path}:v.txt", "-o", str(out), "--max-bytes", "100000"])
    assert result.exit_code == 1 and "inflates past 100,000 bytes" in result.output and not out.exists()


def test_bz2_binary_bomb_is_refused_at_the_default_bound_in_bounded_memory(tmp_path: Path) -> None:
    """A 4 KB bz2 word2vec-binary stream of one repeated token inflating to 512 MiB is refused once it
    passes 256 MiB (the default bound), within seconds and without holding the repeats."""
    from vecload.formats.bounded import MIN_BOUND

    record = b"w " + bytes(4 * 300) + b"\n"
    count = (512 << 20) // len(record)
    unit = record * ((8 << 20) // len(record))
    packed = bz2.compress(b"%d 300\n" % count) + bz2.compress(unit) * (count * len(record) // len(unit))
    path = tmp_path / "bomb.bin"
    path.write_bytes(packed)
    assert len(packed) < 8000
    outcome, grown = _read_in_child(str(path), timeout=60)
    assert re.fullmatch(
        rf"{re.escape(str(path))}: byte {MIN_BOUND}: the bz2 stream inflates past {MIN_BOUND:,} bytes \(from \d[\d,]* "
        r"compressed bytes; vecload's default bound is the larger of 256 MiB and 100 times the compressed bytes "
        r"read, while real vector files compress 1-4 times\): a decompression bomb\? If the file is genuine, "
        r"raise the bound with max_bytes= \(CLI --max-bytes\)", outcome), outcome
    assert grown < 160, grown


def test_repeated_rows_are_dropped_as_they_are_read(tmp_path: Path) -> None:
    """A 32 MiB text stream of one repeated row, read whole (max_bytes raised), takes memory for one row
    plus a constant: repeats are dropped as they are read, never held (holding them took 60 MiB more)."""
    path = tmp_path / "repeats.txt.gz"
    path.write_bytes(glove_bomb(32 << 20, "gzip"))
    outcome, grown = _read_in_child(str(path), str(1 << 30))
    assert outcome == ["w"]
    assert grown < 24, grown


def test_ratio_bound_passes_genuine_files_and_stops_bombs_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the bound follows the compressed bytes read: a genuine file compressing about 3-fold
    reads whole past the floor (1 MiB here), a bomb is stopped just past the floor."""
    import vecload.formats.bounded as source_module

    monkeypatch.setattr(source_module, "MIN_BOUND", 1 << 20)
    rng = np.random.default_rng(3)
    values = rng.standard_normal((6000, 50)).astype(np.float32)
    genuine = tmp_path / "genuine.txt.gz"
    genuine.write_bytes(gzip.compress("".join(
        f"w{i} " + " ".join(f"{v:.5f}" for v in row) + "\n" for i, row in enumerate(values.tolist())).encode()))
    table = read_table(genuine)
    assert len(table.tokens) == 6000 and table.vectors.nbytes == values.nbytes
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(glove_bomb(20 << 20, "gzip"))
    with pytest.raises(ParseError, match=r"bomb\.txt\.gz: byte \d+: the gzip stream inflates past [\d,]+ bytes "
                                         r"\(from [\d,]+ compressed bytes; vecload's default bound is") as error:
        read_table(bomb)
    assert error.value.offset <= 2 << 20


def test_max_bytes_also_bounds_the_walk_to_a_tar_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A genuine tar.gz whose earlier member compresses past the ratio bound (zeros, 8 MiB; floor 1 MiB here)
    is refused by default, and max_bytes, which the message names as the fix, raises the bound for the walk
    to the member and for detection too (it was applied only to the read itself)."""
    import vecload
    import vecload.formats.bounded as source_module
    from vecload.cli import main

    monkeypatch.setattr(source_module, "MIN_BOUND", 1 << 20)
    path = tmp_path / "zeros.tar.gz"
    path.write_bytes(gzip.compress(tar_bytes({"zeros.bin": bytes(8 << 20), "v.txt": GLOVE})))
    with pytest.raises(FormatError, match=r"zeros\.tar\.gz: cannot list the members .* raise the bound with max_bytes="):
        read_table(f"{path}:v.txt")
    expected = read_table(FIXTURES / "tiny.glove.txt").tokens
    assert read_table(f"{path}:v.txt", options=ReadOptions(max_bytes=16 << 20)).tokens == expected
    assert vecload.load(path, member="v.txt", max_bytes=16 << 20).tokens == expected
    assert vecload.align(f"{path}:v.txt", ["of", "the"], max_bytes=16 << 20).tokens[2:] == ["of", "the"]
    out = tmp_path / "out.pth"
    done = CliRunner().invoke(main, ["convert", f"{path}:v.txt", "-o", str(out), "--max-bytes", str(16 << 20)])
    assert done.exit_code == 0, done.output
    assert vecload.load(out).tokens == expected
    done = CliRunner().invoke(main, ["convert", f"{path}:v.txt", "-o", str(tmp_path / "aligned.pth"), "--max-bytes",
                                     str(16 << 20), "--vocab", str(_vocab(tmp_path))])
    assert done.exit_code == 0, done.output


def _vocab(tmp_path: Path) -> Path:
    """A task vocabulary file of two tokens the tiny fixture has."""
    path = tmp_path / "vocab.txt"
    path.write_text("of\nthe\n")
    return path


def test_cli_max_bytes_raises_the_bound(tmp_path: Path) -> None:
    """`--max-bytes` bounds a compressed stream: exit 1 with the message past it, a converted file within it."""
    from vecload.cli import main

    path = tmp_path / "repeats.txt.gz"
    path.write_bytes(glove_bomb(4 << 20, "gzip"))
    out = tmp_path / "out.pth"
    refused = CliRunner().invoke(main, ["convert", str(path), "-o", str(out), "--max-bytes", "1000000"])
    assert refused.exit_code == 1 and "inflates past 1,000,000 bytes (the max_bytes given)" in refused.output
    assert "Traceback" not in refused.output and not out.exists()
    done = CliRunner().invoke(main, ["convert", str(path), "-o", str(out), "--max-bytes", str(8 << 20)])
    assert done.exit_code == 0, done.output
    assert "duplicates ('w', 'w', 'w')" in done.output


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd (Linux)")
def test_a_pipe_is_refused_not_read_from_where_earlier_opens_left_it(tmp_path: Path) -> None:
    """A pipe (what `vecload convert <(zcat x.gz)` gets) is refused: each open of it continued where the
    last stopped, so detection's reads were lost and a table could start mid-row, exit status 0."""
    from vecload.cli import main

    read_end, write_end = os.pipe()
    try:
        os.write(write_end, GLOVE)
        os.close(write_end)
        path = f"/proc/self/fd/{read_end}"
        with pytest.raises(FormatError, match=rf"{path}: is not a regular file \(a pipe or a device\?\); .* save it to a "
                                              r"file first"):
            read_table(path)
        out = tmp_path / "out.pth"
        result = CliRunner().invoke(main, ["convert", path, "-o", str(out)])
        assert result.exit_code == 1 and "is not a regular file" in result.output and not out.exists()
        assert os.read(read_end, 1 << 16) == GLOVE  # refused before anything was read
    finally:
        os.close(read_end)


@pytest.mark.parametrize(("name", "stem"), [
    ("glove.6B.tar.gz", "glove.6B"), ("vectors.tgz", "vectors"), ("cc.en.300.vec.xz", "cc.en.300"),
    ("wiki.tar.bz2", "wiki"), ("w2v.bin.tar.xz", "w2v"), ("plain.tar", "plain"),
])
def test_stem_strips_archive_and_compression_suffixes(tmp_path: Path, name: str, stem: str) -> None:
    """The default output name drops .xz, .tar, .tgz, .tar.gz ... as it drops .gz and .zip."""
    from vecload.formats.source import Source

    assert Source(tmp_path / name).stem == stem


def test_default_output_of_a_tar_member_is_named_after_the_member(tmp_path: Path) -> None:
    """Converting archive.tar.gz:dir/glove.6B.50d.txt writes glove.6B.50d.pth beside the archive."""
    import vecload

    path = tmp_path / "glove.tar.gz"
    path.write_bytes(tar_bytes({"dir/glove.6B.50d.txt": GLOVE, "README": b"about\n"}, "gzip"))
    written = vecload.convert(f"{path}:dir/glove.6B.50d.txt")
    assert written == tmp_path / "glove.6B.50d.pth"


# --- gensim engine -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data"), [
    ("plain.vec.gz", W2V),  # plain bytes named .gz: gensim's smart_open would gunzip them
    ("packed.txt", gzip.compress(W2V)),  # gzip named .txt: smart_open would read the compressed bytes
    ("packed.vec.bz2.gz", bz2.compress(W2V)),
    ("packed.xz", lzma.compress(W2V)),
    ("packed.txt.lzma", lzma.compress(W2V, format=lzma.FORMAT_ALONE)),
    ("archive.tar.xz", tar_bytes({"tiny.vec": W2V}, "xz")),
])
def test_gensim_engine_reads_what_the_content_is_not_what_the_name_says(tmp_path: Path, name: str, data: bytes) -> None:
    """The gensim engine gives gensim the bytes the magic says (a plain file named .gz, gzip named .txt,
    xz, a tar member), and the table matches the native one bit for bit."""
    pytest.importorskip("gensim")
    path = tmp_path / name
    path.write_bytes(data)
    native = read_table(path)
    table = read_table(path, engine="gensim")
    assert table.tokens == native.tokens == ["the", "of", "café", "u.s."]
    assert table.vectors.tobytes() == native.vectors.tobytes()


def test_gensim_engine_errors_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever gensim raises (here an OSError, as smart_open's BadGzipFile is) becomes a ParseError
    naming the file."""
    gensim = pytest.importorskip("gensim.models")
    path = tmp_path / "v.vec"
    path.write_bytes(W2V)

    def broken(*args, **kwargs):
        raise gzip.BadGzipFile("Not a gzipped file (b'4 ')")

    monkeypatch.setattr(gensim.KeyedVectors, "load_word2vec_format", broken)
    with pytest.raises(ParseError, match=rf"{re.escape(str(path))}: gensim could not read it: BadGzipFile: Not a gzipped"):
        read_table(path, engine="gensim")


def test_overlapping_gensim_reads_leave_gensim_logging_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two gensim-engine reads in threads, the first ending while the second runs, leave gensim's logger
    as it was (its level was set to ERROR and restored out of order, for good) and quiet only themselves."""
    import logging

    gensim = pytest.importorskip("gensim.models")
    path = tmp_path / "v.vec"
    path.write_bytes(W2V)
    log = logging.getLogger("gensim.models.keyedvectors")
    level, filters = log.level, list(log.filters)
    real = gensim.KeyedVectors.load_word2vec_format
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def interleaved(*args, **kwargs):
        if threading.current_thread().name == "first":
            first_in.set()
            second_in.wait(10)
        else:
            second_in.set()
            first_out.wait(10)
        return real(*args, **kwargs)

    def read(name: str) -> None:
        tokens[name] = read_table(path, engine="gensim").tokens
        if name == "first":
            first_out.set()

    monkeypatch.setattr(gensim.KeyedVectors, "load_word2vec_format", interleaved)
    tokens: dict[str, list[str]] = {}
    first = threading.Thread(target=read, args=("first",), name="first")
    second = threading.Thread(target=read, args=("second",), name="second")
    first.start()
    assert first_in.wait(10)
    second.start()
    first.join(20)
    second.join(20)
    assert tokens["first"] == tokens["second"] == read_table(path).tokens
    assert (log.level, log.filters) == (level, filters)


def test_gensim_engine_is_bounded_like_the_native_one(tmp_path: Path) -> None:
    """The gensim engine reads compressed streams through the same bound (its binary pre-scan reads
    the stream whole)."""
    pytest.importorskip("gensim")
    record = b"w " + bytes(4 * 100)
    path = tmp_path / "bomb.bin"
    path.write_bytes(gzip.compress(b"%d 100\n" % 20000 + record * 20000))
    with pytest.raises(ParseError, match=r"bomb\.bin: byte \d+: the gzip stream inflates past 1,048,576 bytes"):
        read_table(path, engine="gensim", options=ReadOptions(max_bytes=1 << 20))


# --- what a read leaves behind ------------------------------------------------------------------


def _wide_file(path: Path, rows: int = 3000, dim: int = 50) -> Path:
    """A GloVe file big enough for the parser to use its thread pool (several batches in a block)."""
    rng = np.random.default_rng(2)
    path.write_text("".join(f"w{i} " + " ".join(f"{v:.6f}" for v in row) + "\n"
                            for i, row in enumerate(rng.standard_normal((rows, dim)).tolist())))
    return path


def test_no_parser_thread_outlives_a_read(tmp_path: Path) -> None:
    """After an unfiltered and a filtered read on two threads, no vecload-* thread is alive."""
    tuning = Tuning(batch_values=8 * 50, threads=2)  # many batches per block: the pool is used
    path = _wide_file(tmp_path / "wide.txt")
    assert len(read_table(path, tuning=tuning).tokens) == 3000
    keep = ReadOptions(keep={"w5", "w2999"}.__contains__)
    assert read_table(path, options=keep, tuning=tuning).tokens == ["w5", "w2999"]
    assert [t.name for t in threading.enumerate() if t.name.startswith("vecload")] == []


def test_the_source_hash_read_beside_the_table_is_the_files(tmp_path: Path) -> None:
    """The source's sha256, computed on a thread during the read, is hashlib's of the file; a read that fails
    stops that thread: no vecload-* thread is alive after either."""
    path = _wide_file(tmp_path / "wide.txt")
    meta = vecload.load(path).meta["source"]
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and meta["size"] == path.stat().st_size
    bad = tmp_path / "bad.txt"
    bad.write_bytes(path.read_bytes() + b"w x 1\n")
    with pytest.raises(ParseError, match=r"bad\.txt:3001: 2 values, expected 50"):
        vecload.convert(bad, tmp_path / "bad.pth")
    assert [t.name for t in threading.enumerate() if t.name.startswith("vecload")] == []
    assert not (tmp_path / "bad.pth").exists()


def test_forked_workers_convert_after_a_read_in_the_parent(tmp_path: Path) -> None:
    """Convert in the parent, then in a fork-started multiprocessing pool: it finishes (a module-level
    thread pool made the children hang)."""
    path = _wide_file(tmp_path / "wide.txt")
    script = textwrap.dedent(f"""
        import multiprocessing, sys
        sys.path.insert(0, {str(ROOT)!r})
        import vecload
        vecload.convert({str(path)!r}, {str(tmp_path / "parent.pth")!r})
        outputs = [{str(tmp_path / "a.pth")!r}, {str(tmp_path / "b.pth")!r}]
        with multiprocessing.get_context("fork").Pool(2) as pool:
            print(pool.starmap(vecload.convert, [({str(path)!r}, out) for out in outputs]))
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "VECLOAD_THREADS": "2"}, start_new_session=True)
    try:
        stdout, stderr = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the hung workers too, not only the parent
        child.communicate()
        pytest.fail("the forked workers hung")
    assert child.returncode == 0, stderr[-2000:]
    assert "a.pth" in stdout and "b.pth" in stdout


def test_reads_change_no_process_wide_setting(tmp_path: Path) -> None:
    """A filtered read calls no C library through ctypes (no mallopt, no malloc_trim), and the module
    that did is gone."""
    path = _wide_file(tmp_path / "wide.txt", rows=400)
    script = textwrap.dedent(f"""
        import ctypes, sys
        calls = []
        ctypes.CDLL = lambda *args, **kwargs: calls.append(args)
        sys.path.insert(0, {str(ROOT)!r})
        from vecload.formats import ReadOptions, read_table
        read_table({str(path)!r}, options=ReadOptions(keep={{"w1"}}.__contains__))
        print(calls)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
    assert not (ROOT / "vecload" / "formats" / "_malloc.py").exists()


def test_an_interrupt_while_waiting_for_the_source_hash_stops_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while waiting for the source's sha256 stops the hashing thread at its next block, not the file's end."""
    import time
    from types import SimpleNamespace

    import vecload.conversion as conversion
    import vecload.formats

    path = tmp_path / "big.txt"
    with open(path, "wb") as fh:
        fh.truncate(12 << 22)  # twelve of the hashing thread's blocks, sparse
    blocks: list[int] = []
    real_sha256 = hashlib.sha256

    class SlowDigest:
        def __init__(self) -> None:
            self.digest = real_sha256()

        def update(self, block: bytes) -> None:
            blocks.append(len(block))
            if len(blocks) == 1:  # the main thread is waiting for this hash: Ctrl-C it
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(0.2)
            self.digest.update(block)

        def hexdigest(self) -> str:
            return self.digest.hexdigest()

    monkeypatch.setattr(conversion.hashlib, "sha256", SlowDigest)
    table = SimpleNamespace(format="glove", report=SimpleNamespace(to_dict=dict))
    monkeypatch.setattr(vecload.formats, "read_table", lambda *args, **kwargs: table)  # the read is already done
    with pytest.raises(KeyboardInterrupt):
        conversion.read_source(open_source(path), "glove", None, {})
    assert len(blocks) < 12
    assert [t.name for t in threading.enumerate() if t.name.startswith("vecload")] == []
