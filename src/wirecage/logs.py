"""Logging that costs nothing until a message is actually shown.

Importing the standard ``logging`` module costs several milliseconds (it pulls in
``traceback``, ``threading``, ``string``, ``weakref``...), a fair part of what a whole
``wirecage up PROFILE -- true`` may take. So modules log through ``get_logger(name)``, a small
object with ``logging.Logger``'s usual methods, and ``logging`` is imported only when a record
passes the level the command line chose:

- ``wirecage.cli.main`` calls ``configure_logging(verbosity)`` for the time of one command:
  records below its level are dropped right here, without importing ``logging``; the first
  record that passes installs the ``wirecage: message`` handler on the ``wirecage`` logger.
- Without ``configure_logging`` (the library used from Python, the tests), every record goes
  to the standard ``logging`` module unfiltered, so its levels, handlers and pytest's
  ``caplog`` work as they always do.

With ``-vv`` each line also shows the milliseconds since wirecage started (the import of this
module, one of its first), which is how the time of ``wirecage up`` is taken apart.
"""

from __future__ import annotations

import sys
import time

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40

# Taken when the CLI starts (its first import): -vv shows times relative to it.
STARTED = time.perf_counter()

# The level chosen by configure_logging(), None when not configured (forward everything).
_level: int | None = None
_verbosity = 0
# Whether the handler for the current configuration is installed on the stdlib logger.
_installed = False


def level_for(verbosity: int) -> int:
    """-q (-1): errors only; default (0): warnings; -v and more: everything."""
    return {-1: ERROR, 0: WARNING}.get(verbosity, DEBUG)


def configure_logging(verbosity: int | None) -> None:
    """Show records at ``level_for(verbosity)`` and above; None undoes the configuration."""
    global _level, _verbosity, _installed
    _level = None if verbosity is None else level_for(verbosity)
    _verbosity = verbosity or 0
    _installed = False


def _install() -> None:
    global _installed
    import logging

    class Formatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            text = super().format(record)
            if _verbosity >= 2:
                return f"wirecage: {_elapsed_ms():7.1f} ms  {text}"
            return f"wirecage: {text}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Formatter("%(message)s"))
    root = logging.getLogger("wirecage")
    root.handlers[:] = [handler]
    root.setLevel(_level if _level is not None else logging.WARNING)
    root.propagate = False
    _installed = True


def _elapsed_ms() -> float:
    return (time.perf_counter() - STARTED) * 1000


class Logger:
    """The part of ``logging.Logger`` wirecage uses, deciding cheaply what to drop."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def _log(self, level: int, msg: str, args: tuple, exc_info: bool = False) -> None:
        if _level is not None:
            if level < _level:
                return
            if not _installed:
                _install()
        import logging

        logging.getLogger(self.name).log(level, msg, *args, exc_info=exc_info, stacklevel=3)

    def debug(self, msg: str, *args: object) -> None:
        self._log(DEBUG, msg, args)

    def info(self, msg: str, *args: object) -> None:
        self._log(INFO, msg, args)

    def warning(self, msg: str, *args: object) -> None:
        self._log(WARNING, msg, args)

    def error(self, msg: str, *args: object) -> None:
        self._log(ERROR, msg, args)

    def exception(self, msg: str, *args: object) -> None:
        self._log(ERROR, msg, args, exc_info=True)


def get_logger(name: str) -> Logger:
    """The logger for ``name`` (``wirecage`` or below it)."""
    return Logger(name)
