"""What an image file's header says, read without decoding a pixel: PNG (IHDR), JPEG (SOFn), TIFF (every IFD)
and ``.npy`` (the array header).

Why our own parser: the pixel limit (``$MATTEBENCH_MAX_PIXELS``) must refuse a 30000x30000 file of a few
hundred kB *before* any library allocates its pixels (OpenCV's ``imread`` decodes it in full, PIL's own check
is twice PIL's default), and a message about a file no library opens (a float RGB TIFF) must say what the
file is instead of guessing "HTML or an archive". Only sizes, page counts and sample formats are read;
anything this module does not understand gives ``None`` and the decoder's own checks decide.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Optional

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*")
MAX_TIFF_PAGES = 100_000  # a loop of IFD offsets (a hostile file) stops here
_TIFF_SAMPLE_FORMATS = {1: "unsigned integer", 2: "signed integer", 3: "floating-point"}


@dataclass(frozen=True)
class ImageHeader:
    """The header's facts: format, stored size, pages (TIFF/APNG frames; 1 otherwise), what a pixel holds."""

    format: str
    width: int
    height: int
    pages: int = 1
    channels: Optional[int] = None
    bits: Optional[int] = None
    sample_format: str = "unsigned integer"

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def describe(self) -> str:
        """``a TIFF image, 640x480, 3 channels of 32-bit floating-point samples``."""
        what = f"a {self.format} image, {self.width}x{self.height}"
        if self.channels and self.bits:
            what += f", {self.channels} channel{'s' if self.channels != 1 else ''} of {self.bits}-bit {self.sample_format} samples"
        if self.pages > 1:
            what += f", {self.pages} pages"
        return what


def read_header(f: BinaryIO) -> Optional[ImageHeader]:
    """The header of the image in ``f`` (a seekable binary file at any position), or None when unknown."""
    f.seek(0)
    head = f.read(32)
    try:
        if head.startswith(PNG_SIGNATURE):
            return _png(f)
        if head.startswith(b"\xff\xd8"):
            return _jpeg(f)
        if head[:4] in TIFF_SIGNATURES:
            return _tiff(f, "<" if head[:2] == b"II" else ">")
    except (struct.error, ValueError, OverflowError):
        return None  # a header this module cannot follow: the decoder's own checks decide
    finally:
        f.seek(0)
    return None


def _png(f: BinaryIO) -> Optional[ImageHeader]:
    f.seek(8)
    length, kind = struct.unpack(">I4s", f.read(8))
    if kind != b"IHDR" or length < 13:
        return None
    width, height, bits, colour = struct.unpack(">IIBB", f.read(10))
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    return ImageHeader("PNG", width, height, _apng_frames(f, length), channels, bits)


def _apng_frames(f: BinaryIO, ihdr_length: int) -> int:
    """Frames of an animated PNG (its acTL chunk comes before the first IDAT), 1 for a plain PNG."""
    f.seek(8 + 8 + ihdr_length + 4)
    for _ in range(64):  # acTL sits among the first chunks; a hostile file does not get a long walk
        raw = f.read(8)
        if len(raw) < 8:
            return 1
        length, kind = struct.unpack(">I4s", raw)
        if kind == b"acTL":
            return max(1, struct.unpack(">I", f.read(4))[0])
        if kind == b"IDAT":
            return 1
        f.seek(length + 4, 1)
    return 1


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(f: BinaryIO) -> Optional[ImageHeader]:
    f.seek(2)
    while True:
        byte = f.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes
            marker = f.read(1)
        if not marker:
            return None
        code = marker[0]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue  # markers without a length
        (length,) = struct.unpack(">H", f.read(2))
        if code in _SOF:
            bits, height, width, channels = struct.unpack(">BHHB", f.read(6))
            return ImageHeader("JPEG", width, height, 1, channels, bits)
        if code == 0xDA or length < 2:
            return None  # image data before any frame header: not a JPEG this module understands
        f.seek(length - 2, 1)


def _tiff(f: BinaryIO, order: str) -> Optional[ImageHeader]:
    f.seek(4)
    (offset,) = struct.unpack(order + "I", f.read(4))
    first: Optional[dict[int, int]] = None
    pages, seen = 0, set()
    while offset and offset not in seen and pages < MAX_TIFF_PAGES:
        seen.add(offset)
        tags, offset = _ifd(f, order, offset)
        first = first if first is not None else tags
        pages += 1
    if first is None or 256 not in first or 257 not in first:
        return None
    channels = first.get(277, 1)
    return ImageHeader("TIFF", first[256], first[257], pages, channels, first.get(258),
                       _TIFF_SAMPLE_FORMATS.get(first.get(339, 1), "unknown"))


def _ifd(f: BinaryIO, order: str, offset: int) -> tuple[dict[int, int], int]:
    """The first value of each short/long tag of one IFD, and the next IFD's offset."""
    f.seek(offset)
    (count,) = struct.unpack(order + "H", f.read(2))
    tags: dict[int, int] = {}
    entries = [struct.unpack(order + "HHI4s", f.read(12)) for _ in range(count)]
    (nxt,) = struct.unpack(order + "I", f.read(4))
    for tag, kind, n, raw in entries:
        if kind == 3:  # SHORT: inline when two fit in 4 bytes, else at the offset (BitsPerSample of RGB)
            if n > 2:
                f.seek(struct.unpack(order + "I", raw)[0])
                raw = f.read(2)
            tags[tag] = struct.unpack(order + "H", raw[:2])[0]
        elif kind == 4:  # LONG
            if n > 1:
                f.seek(struct.unpack(order + "I", raw)[0])
                raw = f.read(4)
            tags[tag] = struct.unpack(order + "I", raw)[0]
    return tags, nxt
