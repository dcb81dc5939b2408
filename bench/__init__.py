"""The benchmark harness: `bench/run [SCENARIO ...]` (see bench/README.md)."""
