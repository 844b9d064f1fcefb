"""The command line: one argparse parser, one exit path.

``main`` is the only place that catches WirecageError: it prints ``wirecage: error: …`` and
a ``hint: …`` line, and returns the error's exit status. Unexpected exceptions print a
traceback (they are bugs); ``--debug`` shows tracebacks for expected errors too.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from wirecage.errors import EXIT_FAILURE, WirecageError
from wirecage.logs import configure_logging, get_logger

log = get_logger("wirecage")


def _resolve(handler: str):
    module_name, _, func_name = handler.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


class _Stdout:
    """``sys.stdout`` for the time of one command: failures to write become WirecageErrors.

    Every command writes its output through it, so there is one place that says "standard
    output is closed" (``wirecage profile list >&-``, where Python has no ``sys.stdout``) or
    "cannot write to standard output" (``> /dev/full``). A reader that went away
    (BrokenPipeError) is passed on: ``main`` ends quietly for it. A command that writes
    nothing (``up``) is unaffected by a closed or full standard output.
    """

    def __init__(self, stream):
        self.stream = stream

    def _closed(self) -> WirecageError:
        return WirecageError("standard output is closed: nowhere to write the output")

    def write(self, text: str) -> int:
        if self.stream is None:
            raise self._closed()
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _write_error(exc) from None

    def flush(self) -> None:
        if self.stream is None:
            return  # nothing was written (write refuses)
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _write_error(exc) from None

    def __getattr__(self, name: str):
        if self.stream is None:
            raise AttributeError(name)
        return getattr(self.stream, name)


def _write_error(exc: OSError) -> WirecageError:
    return WirecageError(f"cannot write to standard output: {exc.strerror or exc}")


def main(argv: Sequence[str] | None = None) -> int:
    from wirecage.cli.parser import build_parser, command_word

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_word(arguments))
    args = parser.parse_args(arguments)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        return 2
    # The verbosity holds for this one command (main may be called again in-process).
    configure_logging(-1 if args.quiet else args.verbose)
    stdout = sys.stdout
    sys.stdout = _Stdout(stdout)  # type: ignore[assignment]
    try:
        status = int(_resolve(handler)(args) or 0)
        sys.stdout.flush()  # a full disk shows now, while the error can still be reported
        return status
    except WirecageError as exc:
        if args.debug:
            log.exception("debug traceback")
        print(f"wirecage: error: {exc.message}", file=sys.stderr)
        for problem in getattr(exc, "problems", ()):
            print(f"  {problem}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wirecage: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`wirecage profile list | head`); nothing left to say.
        return EXIT_FAILURE
    finally:
        sys.stdout = stdout
        configure_logging(None)


def run() -> NoReturn:
    """The ``wirecage`` program: ``main()``, then the process ends at once.

    Python's own shutdown (finalizing every module, collecting the garbage of cryptography
    and the rest) takes milliseconds that ``wirecage up PROFILE -- COMMAND`` would add to the
    command's time. Nothing needs it: when ``main`` returns, everything wirecage set up has
    been undone (``up`` takes its cage down on the way out) and only the standard streams may
    hold buffered output, which is flushed here.
    """
    status = main()
    try:
        # None when the program was started with the stream closed (`wirecage genkey >&-`).
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except OSError:
        # The reader went away (`wirecage profile list | head`), or the output could not be
        # written: main() has reported it (the buffer still holds what failed).
        status = status or EXIT_FAILURE
    os._exit(status)
