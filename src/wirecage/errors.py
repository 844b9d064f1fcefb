"""The one error family of wirecage.

Every expected failure is a WirecageError: it carries the message the user sees, an
optional hint with a known fix, and the exit status the process ends with. Only
``wirecage.cli.main`` catches them; everything below raises and lets the error travel.

Exit statuses follow env(1) for the commands that run a program (``up``, ``exec``): the
program's own status, 125 when wirecage fails before the program runs, 126 when it cannot be
executed, 127 when it is not found, 128+N when it was killed by signal N. The other commands
exit 0 on success, 1 on failure and 2 on a usage error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CAGE_FAILED = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


class WirecageError(Exception):
    """An expected failure: one line for the user, an optional hint, an exit status."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(WirecageError):
    """The command line itself is wrong."""

    exit_code = EXIT_USAGE


class ProfileError(WirecageError):
    """A profile cannot be found, read, parsed or stored.

    ``problems`` holds every problem found in one file (each already formatted as
    ``file:line: key: message``) so that all of them are reported at once.
    """

    def __init__(
        self,
        message: str,
        *,
        problems: list[str] | None = None,
        hint: str | None = None,
        exit_code: int | None = None,
    ):
        super().__init__(message, hint=hint, exit_code=exit_code)
        self.problems = list(problems or [])


class CageError(WirecageError):
    """The cage could not be built or the tunnel could not be started."""

    exit_code = EXIT_CAGE_FAILED
