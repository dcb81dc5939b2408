"""`coordination hash FILE...` (issue 7): hashes computed locally, printed as the JSON to send."""

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from coordination.cli import main
from coordination.runtime import Runtime
from services.content.matching import MATCH_DISTANCE, hamming
from tests.support.agencies import Agencies
from tests.support.monitoring import open_case
from tests.unit.test_pdq import structured_picture


def run_hash(*paths: Path) -> object:
    result = CliRunner().invoke(main, ["hash", *map(str, paths)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def pictures(tmp_path: Path) -> tuple[Path, Path]:
    original, copy = tmp_path / "original.png", tmp_path / "copy.jpg"
    structured_picture().save(original)
    structured_picture().resize((320, 240), Image.Resampling.LANCZOS).save(copy, quality=70)
    return original, copy


def test_hash_image_prints_sha256_pdq_and_quality(pictures: tuple[Path, Path]) -> None:
    original, _ = pictures

    printed = run_hash(original)

    assert isinstance(printed, dict)
    assert printed["kind"] == "image"
    assert printed["sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()
    assert len(printed["pdq"]) == 64
    assert printed["pdq_quality"] >= 50


def test_hash_video_prints_sha256_only(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4096))

    printed = run_hash(video)

    assert printed == {
        "file": str(video),
        "kind": "video",
        "sha256": hashlib.sha256(video.read_bytes()).hexdigest(),
    }


def test_hash_several_files_prints_a_list(pictures: tuple[Path, Path]) -> None:
    printed = run_hash(*pictures)

    assert isinstance(printed, list)
    assert [entry["file"] for entry in printed] == [str(path) for path in pictures]


def test_hash_broken_image_fails_with_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"not a picture")

    result = CliRunner().invoke(main, ["hash", str(fake)])

    assert result.exit_code == 1
    assert "photo.jpg" in result.output
    assert "Traceback" not in result.output


def test_hash_output_of_resized_copy_matches_registered_original_over_http(
    rt: Runtime, agencies: Agencies, pictures: tuple[Path, Path]
) -> None:
    center = agencies.new("support_center")
    original, copy = (run_hash(path) for path in pictures)
    assert isinstance(original, dict)
    assert isinstance(copy, dict)
    case_id = open_case(rt, center)
    body = {k: original[k] for k in ("kind", "sha256", "pdq", "pdq_quality")}
    registered = center.post(
        f"/v1/cases/{case_id}/content", json={**body, "involves_minor": False}
    ).json

    response = center.post(
        "/v1/content/matches",
        json={
            "pdq": copy["pdq"],
            "pdq_quality": copy["pdq_quality"],
            "sha256": copy["sha256"],
            "url": "https://copy.test/1",
            "platform": "copy",
        },
    )

    distance = hamming(original["pdq"], copy["pdq"])
    assert 0 < distance <= MATCH_DISTANCE
    assert [
        (m["content_id"], m["distance"], m["match_type"]) for m in response.json["matches"]
    ] == [(registered["id"], distance, "pdq")]
