"""Generated files stay equal to what the parser generates, and the generators keep the
hand-written parts honest."""

from __future__ import annotations

import argparse
import difflib
import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from wirecage.cli import main
from wirecage.cli import parser as cli_parser
from wirecage.cli.completion import FILES, GENERATORS
from wirecage.cli.docs import MAN_PAGE, generated_files, render_man_page
from wirecage.cli.spec import cli_spec

REPO = Path(__file__).resolve().parent.parent.parent
REGENERATE = "python scripts/gen_docs.py"


def test_committed_files_equal_the_generated_ones():
    stale = []
    for rel, expected in generated_files(REPO).items():
        path = REPO / rel
        actual = path.read_text(encoding="utf-8") if path.exists() else ""
        if actual != expected:
            diff = difflib.unified_diff(
                actual.splitlines(), expected.splitlines(), rel, "generated", lineterm="", n=1
            )
            stale.append("\n".join(list(diff)[:40]))
    assert not stale, (
        f"generated files are out of date; run `{REGENERATE}` and commit the result\n\n"
        + "\n\n".join(stale)
    )


@pytest.mark.parametrize("shell", sorted(GENERATORS))
def test_completion_command_prints_the_committed_script(shell):
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["completion", shell]) == 0
    assert out.getvalue() == (REPO / FILES[shell]).read_text(encoding="utf-8")


def test_completion_command_offers_every_generator_and_no_other():
    completion = next(c for c in cli_spec().walk() if c.path[1:] == ("completion",))
    assert set(completion.positionals[0].choices) == set(GENERATORS) == set(FILES)


def test_every_argument_and_option_is_documented():
    # The man page and the zsh and fish descriptions are made of these help texts.
    undocumented = [
        f"{cmd.name} {' '.join(o.flags) if hasattr(o, 'flags') else o.metavar}"
        for cmd in cli_spec().walk()
        for o in (*cmd.options, *cmd.positionals)
        if not o.help
    ]
    assert not undocumented, f"give these a help text in cli/parser.py: {undocumented}"


def _page() -> str:
    return (REPO / MAN_PAGE).read_text(encoding="utf-8")


def _parser_with_extra_subcommand() -> argparse.ArgumentParser:
    parser = cli_parser.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    extra = subparsers.add_parser("status", help="show the cages that run")
    extra.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def test_a_new_subcommand_without_its_man_page_section_is_an_error():
    root = cli_spec(_parser_with_extra_subcommand())
    with pytest.raises(ValueError) as excinfo:
        render_man_page(_page(), root)
    message = str(excinfo.value)
    assert '.\\" generated: usage wirecage status' in message
    assert '.\\" generated: options wirecage status' in message


def test_a_section_for_a_command_that_is_gone_is_an_error():
    page = _page().replace(
        ".SH EXIT STATUS",
        '.\\" generated: options wirecage frobnicate\n.\\" generated: end\n.SH EXIT STATUS',
    )
    with pytest.raises(ValueError, match="frobnicate"):
        render_man_page(page)


def test_an_unclosed_region_is_an_error():
    page = _page().replace('.\\" generated: end\n', "", 1)
    with pytest.raises(ValueError, match="not closed"):
        render_man_page(page)


def test_a_new_option_appears_in_the_page_and_every_script():
    parser = _parser_with_extra_subcommand()
    up = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["up"]
    up.add_argument("--netns-name", metavar="NAME", help="name the cage's network namespace")
    root = cli_spec(parser)
    page = _page().replace(
        ".SH EXIT STATUS",
        ".SS status\n"
        '.\\" generated: usage wirecage status\n.\\" generated: end\n'
        '.\\" generated: options wirecage status\n.\\" generated: end\n'
        ".SH EXIT STATUS",
    )
    rendered = render_man_page(page, root)
    assert "\\fB\\-\\-netns\\-name\\fR \\fINAME\\fR\nName the cage's network namespace." in rendered
    assert "\\fBstatus\\fR" in rendered
    for shell, generate in GENERATORS.items():
        script = generate(root)
        assert "netns-name" in script, shell
        assert "status" in script, shell


def test_the_version_in_the_title_line_follows_the_package():
    from wirecage import __version__

    page = _page().replace(f'"wirecage {__version__}"', '"wirecage 0.0.0"')
    title = next(x for x in render_man_page(page).splitlines() if x.startswith(".TH "))
    assert title == f'.TH WIRECAGE 1 2026-12-03 "wirecage {__version__}" "User Commands"'
