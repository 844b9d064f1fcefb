"""The command line: one argparse parser, one exit path.

``main`` is the only place that catches WirecageError: it prints ``wirecage: error: …`` and
a ``hint: …`` line, and returns the error's exit status. Unexpected exceptions print a
traceback (they are bugs); ``--debug`` shows tracebacks for expected errors too.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from wirecage.errors import EXIT_FAILURE, WirecageError

log = logging.getLogger("wirecage")


def _setup_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("wirecage: %(message)s"))
    root = logging.getLogger("wirecage")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _resolve(handler: str):
    module_name, _, func_name = handler.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def main(argv: Sequence[str] | None = None) -> int:
    from wirecage.cli.parser import build_parser

    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    _setup_logging(-1 if args.quiet else args.verbose)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        return 2
    try:
        return int(_resolve(handler)(args) or 0)
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
