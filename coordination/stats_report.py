"""`coordination report`: the published statistics of a period as one self-contained HTML page.

Only the published (suppressed) figures go in, exactly as GET /v1/stats gives them: a "<5"
cell stays "<5" in the tables and is left out of the charts (marked as such), so the page can
be handed to anyone. Charts are PNGs made with matplotlib (the Agg canvas, no display) and
embedded as data: URIs, so the file needs nothing else to open.
"""

import base64
import html
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from coordination.runtime import Runtime
from services.stats.commands import ReadStatistics
from services.stats.handlers import read_statistics
from services.stats.suppression import SUPPRESSED

LABELS = {
    "deletion_support": "Deletion support",
    "consultation": "Consultation",
    "legal_support": "Legal support",
    "psychological_therapy": "Psychological therapy",
    "investigation_support": "Investigation support",
    "medical_support": "Medical support",
    "under_14": "under 14",
    "14_17": "14-17",
    "18_19": "18-19",
    "20s": "20s",
    "30s": "30s",
    "40s": "40s",
    "50_plus": "50+",
    "unknown": "unknown",
}


def number(value: Any) -> float | None:
    """A chartable value: suppressed and missing cells are not drawn."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def chart(draw: Callable[[Axes], None], *, width: float = 7.0, height: float = 3.2) -> str:
    # A bare Figure on the Agg canvas: no pyplot state, no display, safe in any thread.
    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    draw(axes)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def bars(axes: Axes, labels: list[str], values: list[Any], title: str, color: str) -> None:
    heights = [number(v) or 0.0 for v in values]
    drawn = axes.bar(labels, heights, color=color)
    for bar, value in zip(drawn, values, strict=True):
        if value == SUPPRESSED:
            bar.set_hatch("//")
            bar.set_alpha(0.3)
        axes.annotate(
            str(value),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.set_title(title, fontsize=10)
    axes.tick_params(axis="x", labelsize=8, rotation=20)


def monthly_cases_and_deletions(months: list[dict[str, Any]]) -> str:
    def draw(axes: Axes) -> None:
        labels = [m["month"] for m in months]
        positions = range(len(labels))
        width = 0.4
        for offset, key, color, name in (
            (-width / 2, "cases_opened", "#4c72b0", "cases opened"),
            (width / 2, "content_removed", "#dd8452", "items removed"),
        ):
            axes.bar(
                [p + offset for p in positions],
                [number(m[key]) or 0.0 for m in months],
                width=width,
                color=color,
                label=name,
            )
        axes.set_xticks(list(positions), labels, fontsize=8, rotation=20)
        axes.legend(fontsize=8, frameon=False)
        axes.set_title("Cases opened and content items removed, by month", fontsize=10)

    return chart(draw)


def line(months: list[dict[str, Any]], key: str, title: str, unit: str) -> str:
    def draw(axes: Axes) -> None:
        values = [number(m[key]) for m in months]
        axes.plot(
            [m["month"] for m in months],
            [float("nan") if v is None else v for v in values],  # hidden: a gap in the line
            marker="o",
            color="#55a868",
        )
        axes.set_ylabel(unit, fontsize=8)
        axes.set_ylim(bottom=0)
        axes.tick_params(axis="x", labelsize=8, rotation=20)
        axes.set_title(title, fontsize=10)

    return chart(draw)


def render(published: dict[str, Any], generated_at: datetime | None = None) -> str:
    generated_at = generated_at or datetime.now(UTC)
    period = published["period"]
    months: list[dict[str, Any]] = published.get("months", [])
    services = published["support_actions"]["by_type"]
    bands = published["victims_by_age_band"]
    images = [
        (
            "Services by type",
            chart(
                lambda a: bars(
                    a,
                    [LABELS[k] for k in services],
                    list(services.values()),
                    "Support actions by type",
                    "#4c72b0",
                )
            ),
        ),
        (
            "Victims by age band",
            chart(
                lambda a: bars(
                    a,
                    [LABELS[k] for k in bands],
                    list(bands.values()),
                    "Victims by age band",
                    "#8172b3",
                )
            ),
        ),
    ]
    if months:
        images.insert(0, ("Monthly cases and deletions", monthly_cases_and_deletions(months)))
        images.append(
            (
                "Minors' share of removed items",
                line(
                    months,
                    "content_removed_involving_minors_percent",
                    "Share of removed items involving minors, by month",
                    "%",
                ),
            )
        )
        images.append(
            (
                "Median time to removal",
                line(
                    months,
                    "median_hours_takedown_to_removal",
                    "Median time from takedown request to removal, by month",
                    "hours",
                ),
            )
        )
    headline = [
        ("Victims served", published["victims_served"]),
        ("Cases opened", published["cases_opened"]),
        ("Content items removed", published["content_removed"]),
        (
            "of which involving minors",
            _percent(published["content_removed_involving_minors_percent"]),
        ),
        ("Support actions in all", published["support_actions"]["total"]),
        ("Victims under 18", _percent(published["victims_minor_percent"])),
        (
            "Median time from takedown request to removal",
            _hours(published["median_hours_takedown_to_removal"]),
        ),
        ("Re-uploads detected", published["reuploads_detected"]),
        ("Offenders apprehended", published["offenders_apprehended"]),
    ]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Statistics {html.escape(period['from'][:10])} to "
        f"{html.escape(period['to'][:10])}</title>",
        "<style>body{font-family:sans-serif;max-width:52rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{padding:.25rem .75rem;"
        "border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right}"
        "img{max-width:100%;display:block;margin:1rem 0}.note{color:#666;font-size:.9em}</style>",
        "</head><body>",
        "<h1>Digital sex crime victim support: statistics</h1>",
        f"<p>Period: {html.escape(period['from'])} to {html.escape(period['to'])} (end "
        f"excluded). Generated {html.escape(generated_at.isoformat(timespec='seconds'))}.</p>",
        '<p class="note">Counts from 1 to 4 are shown as "&lt;5", with a second cell hidden '
        "where a total would reveal them; percentages are withheld when their base is under 5. "
        "Hidden cells are left out of the charts.</p>",
        "<h2>Headline figures</h2>",
        _table(["figure", "value"], [[k, v] for k, v in headline]),
        "<h2>Support actions by type</h2>",
        _table(["type", "count"], [[LABELS[k], v] for k, v in services.items()]),
        "<h2>Victims by age band</h2>",
        _table(
            ["age band", "victims", "share"],
            [
                [LABELS[k], v, _percent(published["victims_by_age_band_percent"][k])]
                for k, v in bands.items()
            ],
        ),
        "<h2>Referrals by type and outcome</h2>",
        _table(
            ["type", "total", "outcomes"],
            [
                [k, v["total"], ", ".join(f"{o}: {c}" for o, c in v["by_outcome"].items())]
                for k, v in published["referrals"]["by_type"].items()
            ],
        ),
    ]
    if months:
        parts += [
            "<h2>By month</h2>",
            _table(
                [
                    "month",
                    "cases opened",
                    "victims served",
                    "items removed",
                    "minors %",
                    "support actions",
                    "median hours to removal",
                ],
                [
                    [
                        m["month"],
                        m["cases_opened"],
                        m["victims_served"],
                        m["content_removed"],
                        _percent(m["content_removed_involving_minors_percent"]),
                        m["support_actions"],
                        _hours(m["median_hours_takedown_to_removal"]),
                    ]
                    for m in months
                ],
            ),
        ]
    parts.append("<h2>Charts</h2>")
    for alt, uri in images:
        parts.append(f'<img alt="{html.escape(alt)}" src="{uri}">')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _percent(value: Any) -> str:
    if value is None:
        return "-"
    return str(value) if value == SUPPRESSED else f"{value} %"


def _hours(value: Any) -> str:
    if value is None:
        return "-"
    return str(value) if value == SUPPRESSED else f"{value} h"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{html.escape(str(c))}</td>'
            if isinstance(c, int | float) or c == SUPPRESSED
            else f"<td>{html.escape(str(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def write_report(runtime: Runtime, start: datetime, end: datetime, out: Path) -> dict[str, Any]:
    """The statistics of [start, end) by month, rendered to OUT. Returns the figures."""
    published = read_statistics(ReadStatistics(start, end, by_month=True), runtime.uow())
    out.write_text(render(published), encoding="utf-8")
    return published
