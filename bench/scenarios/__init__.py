"""Every scenario module in this folder registers itself on import; `load_all` imports them."""

import importlib
import pkgutil

from bench.scenario import SCENARIOS, Scenario


def load_all() -> dict[str, Scenario]:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}")
    return SCENARIOS
