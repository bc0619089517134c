"""The `.ifp` file format: round trips, layout, and one exact one-line error (through
`fv inspect`, exit code 1) for every way a file can be unreadable."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fvir.codegen.emit import frame_buffers
from fvir.errors import UserError
from fvir.hw import PAPER_U200, TINY
from fvir.ifp.fileformat import (
    ALIGN,
    COMPRESSED,
    DIR_ENTRY,
    HEADER_SIZE,
    MAGIC,
    IfpError,
    Section,
    check_core,
    from_bytes,
    read_package,
    to_bytes,
    write_package,
)
from fvir.ifp.package import FORMAT_VERSION, FRAME_DTYPE, Package, TensorInfo
from fvir.tools.fv import main

from .packages import (
    assert_packages_equal,
    contents,
    directory,
    packages,
    resealed,
    sample_package,
    with_section,
)

# tmp_path and capsys are reused across hypothesis examples on purpose: every example
# overwrites the same file and reads the captured output it produced.
REUSE_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                          max_examples=60, deadline=None)


@pytest.fixture(scope="module")
def good() -> bytes:
    return to_bytes(sample_package())


def inspect_error(tmp_path, capsys, data: bytes) -> str:
    path = tmp_path / "m.ifp"
    path.write_bytes(data)
    capsys.readouterr()
    assert main(["inspect", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    prefix = f"fv inspect: error: '{path}' "
    assert err.startswith(prefix), err
    return err[len(prefix) : -1]


# ---------------------------------------------------------------------------------------------
# Round trips and layout


@given(packages())
@settings(max_examples=150, deadline=None)
def test_random_packages_round_trip(package):
    data = to_bytes(package)
    back = from_bytes(data)
    assert_packages_equal(back, package)
    assert to_bytes(back) == data  # the encoding is deterministic


def test_file_round_trip(tmp_path):
    package = sample_package()
    path = tmp_path / "tiny.ifp"
    size = write_package(package, path)
    assert size == path.stat().st_size == len(to_bytes(package))
    back = read_package(path)
    assert_packages_equal(back, package)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.ifp"]  # no temporary left behind


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_package(sample_package(), tmp_path / "m.ifp")
        (tmp_path / "plain").write_bytes(b"")  # what open() gives, the expectation
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.ifp").stat().st_mode) == 0o666 & ~umask
    assert (tmp_path / "m.ifp").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_without_fp32_weights(tmp_path):
    package = sample_package(f32=False)
    write_package(package, tmp_path / "a.ifp")
    back = read_package(tmp_path / "a.ifp")
    assert back.weights_f32 is None
    assert Section.WEIGHTS_F32 not in directory((tmp_path / "a.ifp").read_bytes())


def test_arrays_are_views_of_the_file_buffer(tmp_path, good):
    frozen = from_bytes(good)
    for arr in (frozen.frames, frozen.words, frozen.relocs, frozen.weights, frozen.weights_f32):
        assert not arr.flags.owndata
        assert not arr.flags.writeable  # views of immutable bytes
    (tmp_path / "m.ifp").write_bytes(good)
    loaded = read_package(tmp_path / "m.ifp")
    assert loaded.words.flags.writeable and not loaded.words.flags.owndata
    assert loaded.words.base is not None


def test_header_and_sections_layout(good):
    package = sample_package()
    assert good[:8] == MAGIC
    version, flags, header_size, total, count, algorithm = struct.unpack_from("<HHIQII", good, 8)
    assert (version, flags, header_size, total, count, algorithm) == (
        FORMAT_VERSION, 0, HEADER_SIZE, len(good), 7, 1
    )
    assert good[64:96] == bytes.fromhex(package.core_hash)
    assert good[96:128] == b"tiny-cnn".ljust(32, b"\0")
    sections = directory(good)
    assert list(sections) == list(Section)
    for offset, _ in sections.values():
        assert offset % ALIGN == 0
    assert contents(good, Section.WORDS) == package.words.astype("<u4").tobytes()
    off, length = sections[Section.WEIGHTS]
    assert good[off : off + length] == package.weights.tobytes()  # raw, not compressed
    meta = json.loads(contents(good, Section.META))
    assert meta["segments"][0] == {"name": "weights", "kind": "weights", "size": 96}
    assert meta["layers"][1]["kind"] == "host"
    assert "core_hash" not in meta  # the header holds it, once
    assert hashlib.sha256(good[:32] + good[64:]).digest() == good[32:64]


def test_frame_records_hold_the_buffer_footprint(good):
    """64-byte records (one cache line); the last 24 bytes are the [fmap, weight, bias]
    footprint, which for the sample is what its LOADs and SAVEs span in each buffer."""
    assert FRAME_DTYPE.itemsize == 64 and FRAME_DTYPE.fields["buffers"][1] == 40
    frames = contents(good, Section.FRAMES)
    assert len(frames) == 2 * 64
    footprint = [struct.unpack_from("<3Q", frames, 64 * k + 40) for k in range(2)]
    assert footprint == [(15, 65, 0), (15, 0, 0)]
    package = sample_package()
    np.testing.assert_array_equal(frame_buffers(package.words, package.frames), footprint)
    np.testing.assert_array_equal(from_bytes(good).frames["buffers"], footprint)


def test_long_names_are_cut_at_a_character_boundary():
    package = sample_package()
    package.name = "é" * 40  # 80 bytes of UTF-8: the header keeps 16 whole characters
    data = to_bytes(package)
    assert data[96:128] == ("é" * 16).encode()
    assert from_bytes(data).name == "é" * 40


# ---------------------------------------------------------------------------------------------
# The writer refuses what the reader would reject


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"core_hash": "abc"}, "Package.core_hash must be 64 hex digits"),
        ({"version": 1}, "cannot write a version 1 package (this fvir writes version 5)"),
        ({"words": np.zeros((2, 4), np.uint32)}, "Package.words must be [n, 8], got [2, 4]"),
        ({"weights": np.zeros(3, np.int8)}, "Package.weights must be a 1-D uint8 array"),
        ({"frames": np.zeros(2, np.uint64)}, "Package.frames must be a 1-D"),
        ({"inputs": [7]}, "cannot write package 'tiny-cnn': input tensor 7 does not exist"),
        ({"tensors": [TensorInfo("x", 1, 0, (1, 4, 4, 8), "int8", zero_point=128)] * 3},
         "tensor 0 'x' has zero point 128 (outside -128..127)"),
        ({"input_names": []}, "cannot write package 'tiny-cnn': 1 inputs but 0 input names"),
        ({"relocs": np.array([(99, 0)], dtype=[("instr", "<u4"), ("segment", "<u2")])},
         "relocation 0 patches instruction 99 (9 instructions)"),
    ],
)
def test_writer_rejects_malformed_packages(change, message):
    package = sample_package()
    for key, value in change.items():
        setattr(package, key, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        to_bytes(package)


def test_write_to_a_missing_directory_is_one_line(tmp_path):
    target = tmp_path / "missing" / "m.ifp"
    with pytest.raises(UserError) as info:
        write_package(sample_package(), target)
    assert str(info.value) == f"cannot write '{target}': No such file or directory"


# ---------------------------------------------------------------------------------------------
# Failure modes, each through `fv inspect`


@given(cut=st.data())
@REUSE_FIXTURES
def test_truncated_anywhere(tmp_path, capsys, good, cut):
    k = cut.draw(st.integers(0, len(good) - 1), label="length")
    expected = f"at least {HEADER_SIZE}" if k < HEADER_SIZE else str(len(good))
    assert inspect_error(tmp_path, capsys, good[:k]) == (
        f"is truncated: {k} bytes, expected {expected}"
    )


def expected_for_flip(good: bytes, bad: bytes, i: int) -> str:
    """The message a flipped byte at `i` must give: each header field has its own check,
    everything else the checksum catches."""
    if i < 8:
        return f"is not an .ifp file (bad magic {bad[:8]!r})"
    if i < 10:
        version = struct.unpack_from("<H", bad, 8)[0]
        return f"has unsupported .ifp format version {version} (this fvir reads version 3)"
    if 12 <= i < 16:
        size = struct.unpack_from("<I", bad, 12)[0]
        return f"has a malformed header: header size {size}, expected {HEADER_SIZE}"
    if 16 <= i < 24:
        total = struct.unpack_from("<Q", bad, 16)[0]
        if total > len(bad):
            return f"is truncated: {len(bad)} bytes, expected {total}"
        return f"is corrupted: {len(bad)} bytes, but its header says {total} (data after the end)"
    if 28 <= i < 32:
        algorithm = struct.unpack_from("<I", bad, 28)[0]
        return (
            f"has a malformed header: unknown checksum algorithm {algorithm} (expected 1, SHA-256)"
        )
    stored = bad[32:64].hex()[:16]
    computed = hashlib.sha256(bad[:32] + bad[64:]).hexdigest()[:16]
    return f"is corrupted: SHA-256 checksum mismatch (stored {stored}..., computed {computed}...)"


@given(flip=st.data())
@REUSE_FIXTURES
def test_flipped_byte_anywhere(tmp_path, capsys, good, flip):
    i = flip.draw(st.one_of(st.integers(0, HEADER_SIZE - 1), st.integers(0, len(good) - 1)),
                  label="position")
    mask = flip.draw(st.integers(1, 255), label="xor")
    bad = bytearray(good)
    bad[i] ^= mask
    assert inspect_error(tmp_path, capsys, bytes(bad)) == expected_for_flip(good, bytes(bad), i)


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 6, 65535])
def test_other_versions(tmp_path, capsys, good, version):
    bad = bytearray(good)
    struct.pack_into("<H", bad, 8, version)
    assert inspect_error(tmp_path, capsys, bytes(bad)) == (
        f"has unsupported .ifp format version {version} (this fvir reads version 5)"
    )


def test_version_1_files_are_rejected_in_one_line(tmp_path, capsys, good):
    """A file of the first version, well formed and sealed as its writer left it: raw sections
    and 40-byte frame records without the buffer footprint. Not misread as this version: the
    version error."""
    assert FORMAT_VERSION == 5
    old_dtype = np.dtype([(n, FRAME_DTYPE.fields[n][0]) for n in FRAME_DTYPE.names
                          if n != "buffers"])
    assert old_dtype.itemsize == 40
    frames = np.frombuffer(contents(good, Section.FRAMES), FRAME_DTYPE)
    old = with_section(good, Section.FRAMES,
                       frames[list(old_dtype.names)].astype(old_dtype).tobytes(), compress=False)
    for section in (Section.META, Section.WORDS, Section.RELOCS):
        old = with_section(old, section, contents(good, section), compress=False)
    old = bytearray(old)
    struct.pack_into("<H", old, 8, 1)
    assert inspect_error(tmp_path, capsys, resealed(old)) == (
        "has unsupported .ifp format version 1 (this fvir reads version 5)"
    )
    with pytest.raises(IfpError, match=r"version 1 \(this fvir reads version 5\)$"):
        from_bytes(resealed(old))


def test_version_is_checked_before_anything_a_new_version_may_change(tmp_path, capsys, good):
    # A future version may have another header size: its files must not look truncated.
    bad = bytearray(good[:64])
    struct.pack_into("<H", bad, 8, FORMAT_VERSION + 1)
    message = inspect_error(tmp_path, capsys, bytes(bad))
    assert f"unsupported .ifp format version {FORMAT_VERSION + 1}" in message


@pytest.mark.parametrize(
    "data", [b"", b"\x08\x07\x12\x07hello", b"PK\x03\x04" + bytes(200), b"FVIRIFP"]
)
def test_not_an_ifp_file(tmp_path, capsys, data):
    message = inspect_error(tmp_path, capsys, data)
    if MAGIC.startswith(data):  # too short to tell: a truncated header
        assert message == f"is truncated: {len(data)} bytes, expected at least {HEADER_SIZE}"
    else:
        assert message == f"is not an .ifp file (bad magic {data[:8]!r})"


def test_an_onnx_file_is_not_an_ifp_file(tmp_path, capsys):
    from fvir import zoo

    data = zoo.build("gru").SerializeToString()
    assert inspect_error(tmp_path, capsys, data) == (
        f"is not an .ifp file (bad magic {data[:8]!r})"
    )


def test_data_after_the_end(tmp_path, capsys, good):
    assert inspect_error(tmp_path, capsys, good + b"\0" * 3) == (
        f"is corrupted: {len(good) + 3} bytes, but its header says {len(good)} "
        "(data after the end)"
    )


def test_unknown_flags(tmp_path, capsys, good):
    bad = bytearray(good)
    struct.pack_into("<H", bad, 10, 4)
    assert inspect_error(tmp_path, capsys, resealed(bad)) == (
        "has a malformed header: unknown flags 0x0004"
    )


def test_header_name_must_match_metadata(tmp_path, capsys, good):
    bad = bytearray(good)
    bad[96:128] = b"other".ljust(32, b"\0")
    assert inspect_error(tmp_path, capsys, resealed(bad)) == (
        "has a malformed header: model name b'other' does not match the metadata's 'tiny-cnn'"
    )


def _entry(data: bytearray, index: int, sid: int, reserved: int, offset: int, length: int):
    DIR_ENTRY.pack_into(data, HEADER_SIZE + DIR_ENTRY.size * index, sid, reserved, offset, length)


def _directory_case(good: bytes, case: str) -> tuple[bytes, str]:
    bad = bytearray(good)
    entries = directory(good)
    words_off, words_len = entries[Section.WORDS]
    frames_off, _ = entries[Section.FRAMES]
    if case == "count":
        struct.pack_into("<I", bad, 24, 10**6)
        return bad, f"{10**6} sections do not fit in {len(good)} bytes"
    if case == "unknown id":
        _entry(bad, 2, 99, 0, words_off, words_len)
        return bad, "entry 2 has unknown section id 99"
    if case == "reserved":
        _entry(bad, 2, Section.WORDS, 5, words_off, words_len)
        return bad, "entry 2 (words) has reserved field 5, expected 0"
    if case == "duplicate":
        _entry(bad, 2, Section.FRAMES, 0, words_off, words_len)
        return bad, "section frames appears twice"
    if case == "misaligned":
        _entry(bad, 2, Section.WORDS, 0, words_off + 8, words_len)
        return bad, f"section words at offset {words_off + 8} is not 64-byte aligned"
    if case == "outside":
        _entry(bad, 2, Section.WORDS, 0, words_off, len(good))
        dir_end = HEADER_SIZE + len(entries) * DIR_ENTRY.size
        return bad, (
            f"section words (bytes {words_off}..{words_off + len(good)}) lies outside "
            f"{dir_end}..{len(good)}"
        )
    if case == "over the directory":
        _entry(bad, 2, Section.WORDS, 0, 128, words_len)
        dir_end = HEADER_SIZE + len(entries) * DIR_ENTRY.size
        return bad, (
            f"section words (bytes 128..{128 + words_len}) lies outside {dir_end}..{len(good)}"
        )
    if case == "overlap":
        _entry(bad, 2, Section.WORDS, 0, frames_off, words_len)
        return bad, f"sections at offsets {frames_off} and {frames_off} overlap"
    if case == "missing":
        struct.pack_into("<I", bad, 24, 2)
        return bad, "missing section words, relocs, weights"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    ["count", "unknown id", "reserved", "duplicate", "misaligned", "outside",
     "over the directory", "overlap", "missing"],
)
def test_malformed_directory(tmp_path, capsys, good, case):
    bad, detail = _directory_case(good, case)
    assert inspect_error(tmp_path, capsys, resealed(bad)) == (
        f"has a malformed section directory: {detail}"
    )


def _replace_meta(good: bytes, doc: object) -> bytes:
    return with_section(good, Section.META, json.dumps(doc).encode())


def test_malformed_metadata(tmp_path, capsys, good):
    assert inspect_error(tmp_path, capsys, _replace_meta(good, {"name": "tiny-cnn"})) == (
        "has a malformed meta section: missing key 'meta'"
    )
    assert inspect_error(tmp_path, capsys, _replace_meta(good, [1, 2])) == (
        "has a malformed meta section: expected a JSON object, got list"
    )
    message = inspect_error(tmp_path, capsys, with_section(good, Section.META, b"\xff" * 40))
    assert message.startswith("has a malformed meta section: 'utf-8' codec can't decode")


@pytest.mark.parametrize("section", COMPRESSED)
def test_compressed_sections_must_be_one_zlib_stream(tmp_path, capsys, good, section):
    name = section.name.lower()
    raw = with_section(good, section, contents(good, section), compress=False)
    message = inspect_error(tmp_path, capsys, raw)
    assert message.startswith(f"has a malformed {name} section: Error -3 while decompressing")
    stream = zlib.compress(contents(good, section))
    for bad in (stream[:-4], stream + b"extra"):  # cut short; data after the stream
        assert inspect_error(tmp_path, capsys, with_section(good, section, bad, compress=False)) \
            == (f"has a malformed {name} section: not one complete zlib stream of at most "
                f"{2**32} bytes")


def _host_weight_edit(good: bytes, **entry: object) -> bytes:
    doc = json.loads(contents(good, Section.META))
    doc["host_weights"][0].update(entry)
    return _replace_meta(good, doc)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"offset": 8}, "has a malformed host_weights section: weight 'softmax.scale' (16 x "
                        "float32 at offset 8) lies outside its 64 bytes or is not 64-byte aligned"),
        ({"offset": -64}, "has a malformed host_weights section: weight 'softmax.scale' (16 x "
                          "float32 at offset -64) lies outside its 64 bytes or is not 64-byte "
                          "aligned"),
        ({"shape": [1, 17]}, "has a malformed host_weights section: weight 'softmax.scale' (17 x "
                             "float32 at offset 0) lies outside its 64 bytes or is not 64-byte "
                             "aligned"),
        ({"dtype": "object"}, "has a malformed meta section: host weight 'softmax.scale' has "
                              "unsupported dtype 'object'"),
        ({"shape": [-1, 16]}, "has a malformed meta section: host weight 'softmax.scale' has a "
                              "negative dimension"),
        ({"shape": "16"}, "has a malformed meta section: expected a list of integers, got '16'"),
    ],
)
def test_malformed_host_weights(tmp_path, capsys, good, entry, message):
    assert inspect_error(tmp_path, capsys, _host_weight_edit(good, **entry)) == message


def test_host_weights_listed_without_their_section(tmp_path, capsys, good):
    """The last directory entry (host_weights) dropped from the count: its bytes are there,
    but the reader must not find them."""
    assert list(directory(good))[-1] == Section.HOST_WEIGHTS
    bad = bytearray(good)
    struct.pack_into("<I", bad, 24, len(directory(good)) - 1)
    assert inspect_error(tmp_path, capsys, resealed(bad)) == (
        "has a malformed meta section: host weights listed, but no host_weights section"
    )


def test_section_of_partial_records(tmp_path, capsys, good):
    bad = with_section(good, Section.FRAMES, contents(good, Section.FRAMES)[:41])
    assert inspect_error(tmp_path, capsys, bad) == (
        "has a malformed frames section: 41 bytes is not a multiple of its 64-byte records"
    )


def test_dangling_frame_range(tmp_path, capsys, good):
    frames = np.frombuffer(contents(good, Section.FRAMES), FRAME_DTYPE).copy()
    frames["instr_count"][1] = 50
    bad = with_section(good, Section.FRAMES, frames.tobytes())
    assert inspect_error(tmp_path, capsys, bad) == (
        "is inconsistent: frame 1 has instructions 5..54 (9 instructions)"
    )


def test_wrong_hardware(tmp_path, capsys, good):
    path = tmp_path / "m.ifp"
    path.write_bytes(good)
    assert main(["inspect", str(path), "--hw", "paper-u200"]) == 1
    tiny, u200 = TINY.core.config_hash(), PAPER_U200.core.config_hash()
    assert capsys.readouterr().err == (
        f"fv inspect: error: '{path}' was compiled for core {tiny[:12]} (tiny), not for this "
        f"hardware's core {u200[:12]} (paper-u200); recompile it with --hw paper-u200\n"
    )
    assert main(["inspect", str(path), "--hw", "tiny"]) == 0


def test_wrong_hardware_through_the_api(tmp_path, good):
    path = tmp_path / "m.ifp"
    path.write_bytes(good)
    assert read_package(path, core=TINY.core).name == "tiny-cnn"
    with pytest.raises(IfpError, match=r"^'.*m\.ifp' was compiled for core .* \(tiny\)"):
        read_package(path, core=PAPER_U200.core)


def test_wrong_hardware_custom_cores():
    from fvir.hw.config import CoreConfig

    package = sample_package(core_hash="ab" * 32)
    package.meta = {"hw": "my-board"}
    custom = CoreConfig(pp=1, icp=2, ocp=2, clock_mhz=100, fmap_buffer_bytes=1024,
                        weight_buffer_bytes=1024, bias_buffer_bytes=1024)
    with pytest.raises(IfpError) as info:
        check_core(package, custom)
    assert str(info.value) == (
        f"package 'tiny-cnn' was compiled for core abababababab (my-board), not for this "
        f"hardware's core {custom.config_hash()[:12]} (custom)"
    )


def test_unreadable_file(tmp_path, capsys):
    missing = tmp_path / "nope.ifp"
    assert main(["inspect", str(missing)]) == 1
    assert capsys.readouterr().err == (
        f"fv inspect: error: cannot read '{missing}': No such file or directory\n"
    )
    assert main(["inspect", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"fv inspect: error: cannot read '{tmp_path}': Is a directory\n"
    )


def test_package_class_is_unchanged_by_loading(good):
    # The reader builds plain `Package` objects, nothing format-specific.
    assert type(from_bytes(good)) is Package
