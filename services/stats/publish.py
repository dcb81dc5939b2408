"""From true counts to figures safe to publish: every count passes small-cell suppression.

A group whose total is published (age bands next to victims served, service types next to the
support actions total, referral outcomes next to their type's total, months next to the period)
gets complementary suppression, so no hidden cell can be worked out by subtraction. Percentages
are taken on the true counts and withheld where their base is below the threshold. A median is
withheld when it is taken over fewer than five items. Nothing here carries an id, a reference
or anything about a person: only codes and counts.
"""

from typing import Any

from services.stats import suppression
from services.stats.queries import Figures, Period
from services.stats.suppression import Published, cell, group, share, shares

MINOR_AGE_BANDS = ("under_14", "14_17")


def iso(period: Period) -> dict[str, str]:
    return {
        "from": period.start.isoformat().replace("+00:00", "Z"),
        "to": period.end.isoformat().replace("+00:00", "Z"),
    }


def publish(figures: Figures) -> dict[str, Any]:
    bands = figures.victims_by_age_band
    minors = sum(bands.get(b, 0) for b in MINOR_AGE_BANDS)
    services = figures.support_actions_by_type
    referral_totals = {t: sum(s.values()) for t, s in figures.referrals_by_type.items()}
    published_types = group(referral_totals)
    referrals: dict[str, Any] = {}
    for referral_type, outcomes in figures.referrals_by_type.items():
        hidden_type = published_types[referral_type] == suppression.SUPPRESSED
        referrals[referral_type] = {
            "total": published_types[referral_type],
            # Outcomes of a hidden total are hidden whole: any of them would bound it.
            "by_outcome": (
                dict.fromkeys(outcomes, suppression.SUPPRESSED) if hidden_type else group(outcomes)
            ),
        }
    published_bands = group(bands)
    removed = figures.content_removed
    return {
        "period": iso(figures.period),
        "cases_opened": cell(figures.cases_opened),
        "victims_served": cell(figures.victims_served),
        "victims_by_age_band": published_bands,
        "victims_by_age_band_percent": shares(bands, published_bands),
        "victims_minor_percent": share(minors, figures.victims_served),
        "content_removed": cell(removed),
        "content_removed_involving_minors": cell(figures.content_removed_involving_minors),
        "content_removed_involving_minors_percent": share(
            figures.content_removed_involving_minors, removed
        ),
        "median_hours_takedown_to_removal": median(figures),
        "support_actions": {"total": cell(figures.support_actions), "by_type": group(services)},
        "referrals": {"total": cell(sum(referral_totals.values())), "by_type": referrals},
        "reuploads_detected": cell(figures.reuploads_detected),
        "offenders_apprehended": cell(figures.offenders_apprehended),
    }


def median(figures: Figures) -> float | str | None:
    if figures.takedown_to_removal_count == 0:
        return None
    if figures.takedown_to_removal_count < suppression.THRESHOLD:
        return suppression.SUPPRESSED
    return figures.median_hours_takedown_to_removal


MONTHLY_COUNTS = (
    "cases_opened",
    "content_removed",
    "content_removed_involving_minors",
    "support_actions",
    "reuploads_detected",
    "offenders_apprehended",
)


def publish_months(months: list[Figures]) -> list[dict[str, Any]]:
    """One row per month. Each count series adds up to the period's figure, published next to
    it, so each series is one suppression group (a month can't be had from the total)."""
    rows: list[dict[str, Any]] = [
        {**iso(m.period), "month": m.period.start.strftime("%Y-%m")} for m in months
    ]
    for name in MONTHLY_COUNTS:
        series = {str(i): int(getattr(m, name)) for i, m in enumerate(months)}
        published = group(series)
        for i, row in enumerate(rows):
            row[name] = published[str(i)]
    for m, row in zip(months, rows, strict=True):
        # Not additive over months (a case open for two months is served in both): no group.
        row["victims_served"] = cell(m.victims_served)
        row["content_removed_involving_minors_percent"] = share(
            m.content_removed_involving_minors, m.content_removed
        )
        row["median_hours_takedown_to_removal"] = median(m)
        row["support_actions_by_type"] = group(m.support_actions_by_type)
    return rows


def csv_rows(published: dict[str, Any]) -> list[tuple[str, str, str, Published | float | None]]:
    """The published figures as (month, figure, category, value) rows for text/csv."""
    rows: list[tuple[str, str, str, Published | float | None]] = []

    def walk(month: str, prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(month, f"{prefix}.{key}" if prefix else key, inner)
        else:
            figure, _, category = prefix.partition(".")
            rows.append((month, figure, category, value))

    for key, value in published.items():
        if key in ("period", "months"):
            continue
        walk("", key, value)
    for row in published.get("months", []):
        for key, value in row.items():
            if key not in ("from", "to", "month"):
                walk(row["month"], key, value)
    return rows
