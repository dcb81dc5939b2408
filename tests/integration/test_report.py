"""`coordination report`: the period's published figures with charts, in one HTML file."""

import base64
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from coordination.cli import main
from coordination.config import Settings
from tests.support.seed_story import story_world

PNG = b"\x89PNG\r\n\x1a\n"


def images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def run_report(settings: Settings, tmp_path: Path, start: str, end: str) -> str:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        ["report", "--from", start, "--to", end, "--out", str(out)],
        env={"DATABASE_URL": settings.database_url, "COORDINATION_ISSUER": settings.issuer},
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_report_is_one_self_contained_page_with_embedded_charts(
    settings: Settings, tmp_path: Path
) -> None:
    page = run_report(settings, tmp_path, "1975-01-01", "1975-06-30")

    assert page.startswith("<!doctype html>")
    charts = images(page)
    # monthly cases and deletions, services by type, age bands, minors' share, time to removal
    assert len(charts) == 5
    assert all(chart.startswith(PNG) for chart in charts)
    assert "1975-01-01T00:00:00Z" in page
    assert "1975-07-01T00:00:00Z" in page
    assert "http://" not in page  # nothing is fetched when it opens
    assert "https://" not in page


def test_report_shows_small_counts_suppressed_and_no_case_details(
    settings: Settings, tmp_path: Path
) -> None:
    # A month of its own in the 1970s (the report tests' decade).
    start = datetime(random.randint(1976, 1979), random.randint(1, 12), 1, tzinfo=UTC)
    with story_world(settings, start) as world:
        case_ids = [world.open_case("20s") for _ in range(3)]
        references = [world.center.get(f"/v1/cases/{c}").json["reference"] for c in case_ids]  # type: ignore[index]

    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    page = run_report(settings, tmp_path, str(start.date()), str(end.date()))

    assert "&lt;5" in page  # three cases opened: shown as "<5"
    assert not any(case_id in page for case_id in case_ids)
    assert not any(reference in page for reference in references)
