#!/usr/bin/env python3
"""Regenerate every file derived from wirecage's argparse parser.

    python scripts/gen_docs.py           # write completions/* and man/wirecage.1
    python scripts/gen_docs.py --check   # exit 1 and name the stale files, write nothing

Writes completions/wirecage.bash, completions/_wirecage and completions/wirecage.fish, and
the generated parts of man/wirecage.1 (between its ``.\\" generated:`` markers; the prose
around them is written by hand). tests/docs/test_docs_drift.py runs the same check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from wirecage.cli.docs import generated_files  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report stale files, write nothing")
    args = ap.parse_args()
    try:
        files = generated_files(ROOT)
    except ValueError as exc:  # a man page without a section for a command, and the like
        print(f"gen_docs: {exc}", file=sys.stderr)
        return 1
    stale = []
    for rel, text in files.items():
        path = ROOT / rel
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for rel in stale:
        print(f"{'stale' if args.check else 'wrote'} {rel}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
