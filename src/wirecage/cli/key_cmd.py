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


def _print_key(b64: str) -> None:
    _warn_if_world_accessible()
    sys.stdout.write(b64 + "\n")
    sys.stdout.flush()


def cmd_genkey(args: argparse.Namespace) -> int:
    _print_key(PrivateKey.generate(os.urandom).to_base64())
    return 0


def cmd_genpsk(args: argparse.Namespace) -> int:
    _print_key(PresharedKey.generate(os.urandom).to_base64())
    return 0


def cmd_pubkey(args: argparse.Namespace) -> int:
    data = sys.stdin.buffer.read(4096)
    text, rest = data[:KEY_B64_LEN], data[KEY_B64_LEN:]
    # wg allows whitespace (and NULs) after the key, nothing else.
    if rest.strip(b" \t\n\r\v\f\0"):
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
    sys.stdout.write(PrivateKey(raw).public_key().to_base64() + "\n")
    return 0
