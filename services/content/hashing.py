"""Hashes of a local media file, for `coordination hash FILE...` on a center workstation.

Only the hashes leave the machine (CONTRACT section 4: hashes only, never media). Still
images get SHA-256 and PDQ (Meta's perceptual hash, same hex form as ThreatExchange's
tools). A file Pillow cannot open is taken for a video (SHA-256 only), unless it is
named like a picture: then it is an error rather than a silently PDQ-less "video".

Pillow and pdqhash are imported on use, so the service itself runs without them.
"""

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

RGBPixels = np.ndarray[tuple[int, int, int], np.dtype[np.uint8]]

# Decoders allowed to claim a file. Pillow's full list includes formats whose loading runs
# external programs (EPS runs Ghostscript) or that are stubs (MPEG identifies video streams).
_IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF", "JPEG2000", "PPM")

# A file named like a picture that Pillow cannot open is an error, not a video: hashing a
# HEIC photo or a damaged JPEG as "video" would silently drop its PDQ.
_IMAGE_SUFFIXES = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".webp", ".bmp", ".dib",
        ".tif", ".tiff", ".avif", ".heic", ".heif", ".jp2", ".j2k", ".ppm", ".pgm", ".pbm",
    }
)  # fmt: skip


class HashingError(ValueError):
    """The file cannot be hashed as what it appears to be."""


class HashingUnavailable(RuntimeError):
    """Pillow or pdqhash is not installed (they are needed only for hashing images)."""


class FileHashes(TypedDict):
    kind: Literal["image", "video"]
    sha256: str
    pdq: NotRequired[str]
    pdq_quality: NotRequired[int]


def hash_file(path: str | os.PathLike[str]) -> FileHashes:
    """SHA-256 of any file; for a still image also its PDQ hash and quality (0-100)."""
    file = Path(path)
    sha256 = sha256_file(file)
    image_pdq = _image_pdq(file)
    if image_pdq is None:
        return {"kind": "video", "sha256": sha256}
    pdq, quality = image_pdq
    return {"kind": "image", "sha256": sha256, "pdq": pdq, "pdq_quality": quality}


def sha256_file(path: Path) -> str:
    """Lowercase hex SHA-256, read in chunks so a large video does not fill memory."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def pdq_of_pixels(rgb: RGBPixels) -> tuple[str, int]:
    """PDQ hex (64 lowercase digits, Meta's bit order) and quality of an RGB uint8 array."""
    try:
        import pdqhash
    except ImportError as error:
        raise HashingUnavailable("hashing images needs the 'pdqhash' package") from error
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb, dtype=np.uint8))
    # pdqhash returns the 256 bits most significant first; packbits keeps that order.
    digest = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()
    return digest.hex(), int(quality)


def _image_pdq(file: Path) -> tuple[str, int] | None:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as error:
        raise HashingUnavailable("hashing images needs the 'pillow' package") from error
    try:
        with Image.open(file, formats=_IMAGE_FORMATS) as image:
            pixels = _rgb_pixels(image)
    except UnidentifiedImageError:
        if file.suffix.lower() in _IMAGE_SUFFIXES:
            raise HashingError(f"{file.name}: not an image in a supported format") from None
        return None
    except (OSError, Image.DecompressionBombError) as error:  # identified, then unreadable
        raise HashingError(f"{file.name}: image data cannot be decoded") from error
    return pdq_of_pixels(pixels)


def _rgb_pixels(image: "PILImage") -> RGBPixels:
    from PIL import ImageOps

    # Hash the picture as displayed: platforms bake the EXIF rotation into re-uploads, and
    # PDQ of a rotated picture is far from the unrotated one.
    upright = ImageOps.exif_transpose(image)
    # Via RGBA so palette images with transparency convert without a Pillow warning; the
    # alpha is then dropped, as ThreatExchange's hasher does.
    if upright.mode != "RGB":
        upright = upright.convert("RGBA").convert("RGB")
    return np.asarray(upright, dtype=np.uint8)
