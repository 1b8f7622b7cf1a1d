"""gridscope: distribution-grid reliability and capacity analysis on pandapower networks.

The public API. Names are imported lazily, so ``import gridscope`` (and ``gridscope --help``) stays instant;
pandapower, numba and xarray load on first use.

>>> import gridscope as gs
>>> net = gs.load_network("rbts2")
>>> gs.validate(net)
[]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module relative to this package, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    # errors
    "GridscopeError": (".errors", "GridscopeError"),
    "NetworkError": (".errors", "NetworkError"),
    "ValidationError": (".errors", "ValidationError"),
    "InputError": (".errors", "InputError"),
    "ConfigError": (".errors", "ConfigError"),
    "ConvergenceError": (".errors", "ConvergenceError"),
    "CancelledError": (".errors", "CancelledError"),
    # grid
    "load_network": (".grid.io", "load_network"),
    "save_network": (".grid.io", "save_network"),
    "builtin_networks": (".grid.builtin", "builtin_networks"),
    "validate": (".grid.validation", "validate"),
    "Problem": (".grid.validation", "Problem"),
    "build_topology": (".grid.topology", "build_topology"),
    "Topology": (".grid.topology", "Topology"),
    # the prepared study, and the one-shot functions on top of it
    "Study": (".study", "Study"),
    "CancelToken": (".progress", "CancelToken"),
    "Progress": (".progress", "Progress"),
    # reliability
    "assess_reliability": (".study", "assess_reliability"),
    # capacity
    "assess_capacity": (".study", "assess_capacity"),
    "evaluate_connection": (".study", "evaluate_connection"),
}

_SUBMODULES = {"grid", "reliability", "capacity", "errors", "progress", "study"}

__all__ = [
    "CancelToken",
    "CancelledError",
    "ConfigError",
    "ConvergenceError",
    "GridscopeError",
    "InputError",
    "NetworkError",
    "Problem",
    "Progress",
    "Study",
    "Topology",
    "ValidationError",
    "__version__",
    "assess_capacity",
    "assess_reliability",
    "build_topology",
    "builtin_networks",
    "evaluate_connection",
    "load_network",
    "save_network",
    "validate",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .errors import (
        CancelledError,
        ConfigError,
        ConvergenceError,
        GridscopeError,
        InputError,
        NetworkError,
        ValidationError,
    )
    from .grid.builtin import builtin_networks
    from .grid.io import load_network, save_network
    from .grid.topology import Topology, build_topology
    from .grid.validation import Problem, validate
    from .progress import CancelToken, Progress
    from .study import Study, assess_capacity, assess_reliability, evaluate_connection


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(module_name, __name__), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'gridscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
