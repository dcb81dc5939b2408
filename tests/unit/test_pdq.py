"""hash_file: golden PDQ pairs from pictures the test draws itself, and kind detection.

Needs Pillow and pdqhash (see the install notes for pdqhash under NumPy 2).
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.content.hashing import HashingError, HashingUnavailable, hash_file, pdq_of_pixels
from services.content.matching import MATCH_DISTANCE, MIN_QUALITY, HashIndex, hamming, pdq_from_hex


def structured_picture(width: int = 640, height: int = 480) -> Image.Image:
    """Gradients and solid shapes: enough structure for a PDQ quality near 100."""
    y, x = np.mgrid[0:height, 0:width]
    red = x * 255 // width
    green = y * 255 // height
    blue = (x + y) % 256
    picture = Image.fromarray(np.dstack([red, green, blue]).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    draw.rectangle((60, 60, 260, 200), fill=(250, 20, 20))
    draw.ellipse((320, 180, 560, 420), fill=(20, 20, 230))
    draw.polygon([(100, 400), (250, 260), (300, 450)], fill=(255, 255, 0))
    return picture


def unrelated_picture(width: int = 640, height: int = 480) -> Image.Image:
    """Rings and stripes: nothing in common with structured_picture."""
    y, x = np.mgrid[0:height, 0:width]
    rings = (np.hypot(x - width / 3, y - height / 2) // 24 % 2) * 200
    stripes = (x // 40 % 2) * 55
    gray = (rings + stripes).astype(np.uint8)
    picture = Image.fromarray(np.dstack([gray, 255 - gray, gray // 2]), "RGB")
    ImageDraw.Draw(picture).rectangle((420, 40, 600, 140), fill=(0, 255, 0))
    return picture


@pytest.fixture
def original(tmp_path: Path) -> Path:
    path = tmp_path / "original.png"
    structured_picture().save(path)
    return path


def test_hash_file_png_reports_image_hashes(original: Path) -> None:
    result = hash_file(original)

    assert result["kind"] == "image"
    assert result["sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()
    assert len(result["pdq"]) == 64
    assert result["pdq"] == result["pdq"].lower()
    assert result["pdq_quality"] >= 90


def test_pdq_resized_jpeg_copy_is_within_match_distance(original: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.jpg"
    structured_picture().resize((320, 240), Image.Resampling.LANCZOS).save(copy, quality=70)

    first, second = hash_file(original), hash_file(copy)

    assert first["sha256"] != second["sha256"]
    assert hamming(first["pdq"], second["pdq"]) <= MATCH_DISTANCE
    assert second["pdq_quality"] >= MIN_QUALITY


def test_pdq_unrelated_picture_is_beyond_match_distance(original: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.png"
    unrelated_picture().save(other)

    first, second = hash_file(original), hash_file(other)

    assert hamming(first["pdq"], second["pdq"]) > MATCH_DISTANCE
    assert second["pdq_quality"] >= MIN_QUALITY


def test_index_reencoded_copy_matches_its_original(original: Path, tmp_path: Path) -> None:
    copy, other = tmp_path / "copy.jpg", tmp_path / "other.jpg"
    structured_picture().resize((480, 360)).save(copy, quality=60)
    unrelated_picture().save(other, quality=90)
    known = hash_file(original)
    index = HashIndex()
    index.add("known", sha256=known["sha256"], pdq=pdq_from_hex(known["pdq"]), quality=100)

    hit, miss = hash_file(copy), hash_file(other)

    [match] = index.match(pdq=pdq_from_hex(hit["pdq"]), quality=hit["pdq_quality"])
    assert match.item_id == "known"
    assert match.distance == hamming(known["pdq"], hit["pdq"])
    assert index.match(pdq=pdq_from_hex(miss["pdq"]), quality=miss["pdq_quality"]) == []


def test_pdq_flat_picture_has_quality_below_threshold(tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (200, 200), (128, 128, 128)).save(flat)

    assert hash_file(flat)["pdq_quality"] < MIN_QUALITY


def test_pdq_hex_uses_threatexchange_bit_order() -> None:
    import pdqhash

    pixels = np.asarray(structured_picture())
    bits, _ = pdqhash.compute(pixels)
    # ThreatExchange's pdq_hasher: the bit vector read as one big-endian binary number.
    reference = f"{int(''.join(str(bit) for bit in bits), 2):064x}"

    assert pdq_of_pixels(pixels)[0] == reference


def test_pdq_palette_and_grey_alpha_copies_hash_like_rgb(original: Path, tmp_path: Path) -> None:
    palette, grey = tmp_path / "palette.gif", tmp_path / "grey.png"
    structured_picture().convert("P").save(palette)
    structured_picture().convert("LA").save(grey)
    reference = hash_file(original)["pdq"]

    assert hamming(reference, hash_file(palette)["pdq"]) <= MATCH_DISTANCE
    assert hamming(reference, hash_file(grey)["pdq"]) <= MATCH_DISTANCE


def test_pdq_follows_exif_orientation(original: Path, tmp_path: Path) -> None:
    # Stored sideways with an EXIF "rotate 90 clockwise" tag: displays as the original.
    sideways = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    structured_picture().transpose(Image.Transpose.ROTATE_90).save(sideways, exif=exif, quality=95)

    assert hamming(hash_file(original)["pdq"], hash_file(sideways)["pdq"]) <= MATCH_DISTANCE


def test_hash_file_non_image_is_video_with_sha256_only(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(1000))

    assert hash_file(video) == {
        "kind": "video",
        "sha256": hashlib.sha256(video.read_bytes()).hexdigest(),
    }


def test_hash_file_undecodable_image_name_raises(tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"not a picture at all")

    with pytest.raises(HashingError):
        hash_file(fake)


def test_hash_file_truncated_jpeg_raises(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole.jpg", tmp_path / "cut.bin"
    structured_picture().save(whole, quality=90)
    cut.write_bytes(whole.read_bytes()[:2000])

    with pytest.raises(HashingError):
        hash_file(cut)


def test_hash_file_without_pdqhash_raises_hashing_unavailable(
    original: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes `import pdqhash` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "pdqhash", None)

    with pytest.raises(HashingUnavailable, match="pdqhash"):
        hash_file(original)


def _flip(pdq_hex: str, count: int) -> str:
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(pdq_hex), dtype=np.uint8))
    bits[np.random.default_rng(3).choice(256, size=count, replace=False)] ^= 1
    return np.packbits(bits).tobytes().hex()


def test_golden_pdq_of_drawn_picture_31_bits_away_matches_32_does_not(original: Path) -> None:
    known = hash_file(original)
    index = HashIndex()
    index.add("known", pdq=pdq_from_hex(known["pdq"]), quality=known["pdq_quality"])
    near, far = _flip(known["pdq"], 31), _flip(known["pdq"], 32)

    assert [m.distance for m in index.match(pdq=pdq_from_hex(near), quality=100)] == [31]
    assert index.match(pdq=pdq_from_hex(far), quality=100) == []


def test_golden_pdq_of_drawn_picture_quality_49_never_matches_50_does(
    original: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.jpg"
    structured_picture().resize((480, 360)).save(copy, quality=60)
    known, seen = hash_file(original), hash_file(copy)
    index = HashIndex()
    index.add("weak", pdq=pdq_from_hex(known["pdq"]), quality=49)
    index.add("strong", pdq=pdq_from_hex(known["pdq"]), quality=50)

    found = index.match(pdq=pdq_from_hex(seen["pdq"]), quality=50)
    too_weak = index.match(pdq=pdq_from_hex(seen["pdq"]), quality=49)

    assert [m.item_id for m in found] == ["strong"]
    assert too_weak == []
