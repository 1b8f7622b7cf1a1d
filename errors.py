"""The gridscope exception hierarchy.

Every error gridscope raises on purpose derives from :class:`GridscopeError`; the CLI maps each class to an
exit code and prints its message without a traceback.
"""

from __future__ import annotations

__all__ = [
    "CancelledError",
    "ConfigError",
    "ConvergenceError",
    "GridscopeError",
    "InputError",
    "NetworkError",
    "OutputError",
    "ValidationError",
]


class GridscopeError(Exception):
    """Base class of every error gridscope raises on purpose."""

    exit_code: int = 1


class NetworkError(GridscopeError):
    """A network cannot be loaded or is structurally unusable (missing file, corrupt JSON, unknown name)."""

    exit_code = 3


class ValidationError(NetworkError):
    """A network failed validation; ``problems`` holds every :class:`~gridscope.grid.validation.Problem`."""

    exit_code = 2

    def __init__(self, problems: list, message: str | None = None) -> None:
        self.problems = list(problems)
        if message is None:
            lines = [f"{len(self.problems)} problem(s) in the network:"]
            lines += [f"  {p}" for p in self.problems[:50]]
            if len(self.problems) > 50:
                lines.append(f"  ... and {len(self.problems) - 50} more")
            message = "\n".join(lines)
        super().__init__(message)


class InputError(GridscopeError, ValueError):
    """A user-supplied argument is invalid (unknown bus, negative request size, bad option)."""

    exit_code = 4


class ConfigError(InputError):
    """A configuration or mapping file is malformed."""


class ConvergenceError(GridscopeError):
    """A power flow did not converge; the message names the case or time step and the likely cause."""

    exit_code = 5


class CancelledError(GridscopeError):
    """A long computation was cancelled through its cancel callback."""

    exit_code = 130


class OutputError(GridscopeError):
    """An output file or folder cannot be written: full disk, size limit, read-only place, no permission.

    Nothing is left behind: the temporary file (or folder) is removed and an existing destination is unchanged.
    Exit code 6.
    """

    exit_code = 6

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        #: The plain cause (``"no space left on the device"``), without the path.
        self.reason = reason or message
