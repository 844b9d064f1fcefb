"""``wirecage genkey``, ``pubkey`` and ``genpsk``: byte for byte what ``wg`` prints.

A key is 44 base64 characters and a newline. Like ``wg``, ``pubkey`` reads exactly one key
from standard input, allowing only whitespace after it, and ``genkey``/``genpsk`` warn when
their output is a file that others can read.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys

from wirecage.errors import WirecageError
from wirecage.logs import get_logger
from wirecage.wg.keys import KEY_B64_LEN, KeyFormatError, PresharedKey, PrivateKey, decode_key

log = get_logger("wirecage")


def _warn_if_world_accessible() -> None:
    try:
        st = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        return
    if stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_IRWXO:
        log.warning(
            "warning: writing a secret key to a world accessible file; "
            "set the umask to 077 (umask 077) and try again"
        )


def _write_key(b64: str) -> None:
    # A closed or full standard output is reported by cli.main's stdout (one place for all).
    sys.stdout.write(b64 + "\n")
    sys.stdout.flush()


def _print_secret_key(b64: str) -> None:
    _warn_if_world_accessible()
    _write_key(b64)


# wg's char_is_space() and the NUL it also skips: all that may follow the key.
_TRAILING_OK = b" \t\n\r\v\f\0"


def _read_key_input() -> tuple[bytes, bool]:
    """The first 44 bytes of standard input, and whether only whitespace follows them.

    Like ``wg pubkey``, the whole input is read, not just its start: a key followed by many
    blank lines and then anything else is refused, however far the rest is.
    """
    stdin = sys.stdin.buffer if sys.stdin is not None else None
    if stdin is None:  # started with standard input closed (<&-): no key
        return b"", True
    head = stdin.read(KEY_B64_LEN)
    while chunk := stdin.read(65536):
        if chunk.strip(_TRAILING_OK):
            return head, False  # wg stops at the first stray character too
    return head, True


def cmd_genkey(args: argparse.Namespace) -> int:
    _print_secret_key(PrivateKey.generate(os.urandom).to_base64())
    return 0


def cmd_genpsk(args: argparse.Namespace) -> int:
    _print_secret_key(PresharedKey.generate(os.urandom).to_base64())
    return 0


def cmd_pubkey(args: argparse.Namespace) -> int:
    text, clean = _read_key_input()
    # wg allows whitespace (and NULs) after the key, nothing else.
    if not clean:
        raise WirecageError(
            "pubkey: trailing characters after the key",
            hint="give one private key on standard input: wirecage pubkey < private.key",
        )
    try:
        raw = decode_key(text.decode("ascii"))
    except (UnicodeDecodeError, KeyFormatError) as exc:
        detail = exc if isinstance(exc, KeyFormatError) else "it is not base64 text"
        raise WirecageError(
            f"pubkey: not a key: {detail}",
            hint="give one private key on standard input: wirecage pubkey < private.key",
        ) from None
    _write_key(PrivateKey(raw).public_key().to_base64())
    return 0
