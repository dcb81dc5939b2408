"""Liveness: the cheapest route of the real service, so it measures the per-request stack
(request id, JSON request log, Prometheus metrics, problem handling) and nothing else."""

from bench.scenario import HttpScenario, register

register(
    HttpScenario(
        name="healthz",
        summary="GET /healthz of the service",
        path="/healthz",
        compare_servers=True,
    )
)
