"""The ceiling: a trivial JSON endpoint on the same server setup (bench/baseline_app.py).

bench/run always measures it, on every server it uses and at every connection count, so each
other figure has a `ratio_to_baseline` taken in the same run.
"""

from bench.baseline_app import PATH
from bench.scenario import HttpScenario, register

BASELINE = register(
    HttpScenario(
        name="baseline",
        summary="GET a trivial JSON endpoint of a bare Flask app on the same server",
        path=PATH,
        app="baseline",
        compare_servers=True,
    )
)
