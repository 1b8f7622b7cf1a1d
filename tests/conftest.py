"""Shared fixtures. Networks that are expensive to build are session-scoped; tests that change a network take
a copy (the ``*_copy`` fixtures or :func:`copy.deepcopy`).

SimBench fixtures skip when the ``simbench`` extra is not installed (CI installs it). They use gridscope's
on-disk cache of converted SimBench networks (``~/.cache/gridscope`` unless ``GRIDSCOPE_CACHE_DIR`` is set),
so only the first run on a machine pays for the conversion.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

SIMBENCH_MV = "1-MV-urban--0-sw"
SIMBENCH_BIG = "1-complete_data-mixed-all-0-sw"


@functools.cache
def _builtin(name: str) -> Any:
    import gridscope as gs

    return gs.load_network(name)


@functools.cache
def _simbench(code: str) -> Any:
    pytest.importorskip("simbench")
    import gridscope as gs

    return gs.load_network(f"simbench:{code}")


@pytest.fixture(scope="session")
def load_builtin():
    """``load_builtin(name)``: a fresh copy of a built-in network (each built once per session)."""

    def load(name: str) -> Any:
        return copy.deepcopy(_builtin(name))

    return load


@pytest.fixture(scope="session")
def rbts2_net() -> Any:
    """RBTS Bus 2 case A, shared by the session: do not modify (use ``rbts2_copy``)."""
    return _builtin("rbts2")


@pytest.fixture
def rbts2_copy(rbts2_net) -> Any:
    """A private copy of RBTS Bus 2 case A that the test may change."""
    return copy.deepcopy(rbts2_net)


@pytest.fixture(scope="session")
def rbts2_topology(rbts2_net) -> Any:
    import gridscope as gs

    return gs.build_topology(rbts2_net)


@pytest.fixture(scope="session")
def simbench_mv() -> Any:
    """SimBench ``1-MV-urban--0-sw`` (144 buses), shared: do not modify."""
    return _simbench(SIMBENCH_MV)


@pytest.fixture(scope="session")
def simbench_big() -> Any:
    """SimBench ``1-complete_data-mixed-all-0-sw`` (37,587 buses), shared: do not modify."""
    return _simbench(SIMBENCH_BIG)


@pytest.fixture
def run():
    """Invoke the ``gridscope`` CLI in-process: ``run("validate", "rbts2")`` → click ``Result``."""
    from click.testing import CliRunner
    from gridscope.cli import main

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke
