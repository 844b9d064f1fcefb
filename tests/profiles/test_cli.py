"""Every profile and key command through ``wirecage.cli.main(argv)``, with temporary XDG
directories (tests/profiles/conftest.py), including the secrets they must not show."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from profiles.keys import CLIENT_PRIVATE, CLIENT_PUBLIC, PSK, SECRETS, SERVER_PUBLIC
from wirecage.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def run(capsys, *argv: str, stdin: bytes | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def import_fixture(capsys, name: str, *extra: str) -> None:
    code, _, err = run(capsys, "profile", "import", str(FIXTURES / name), *extra)
    assert code == 0, err


# --- list ---------------------------------------------------------------------------------------


def test_list_with_no_profiles(capsys, dirs):
    code, out, err = run(capsys, "profile", "list")
    assert (code, out) == (0, "")
    assert "no profiles" in err and str(dirs.user) in err
    assert run(capsys, "profile", "list", "--names")[:2] == (0, "")
    assert run(capsys, "profile", "list", "--json")[:2] == (0, "[]\n")


def test_list_shows_every_profile_and_survives_a_broken_one(capsys, dirs):
    import_fixture(capsys, "provider.conf", "--name", "work")
    import_fixture(capsys, "handwritten.toml")
    dirs.etc_wireguard.mkdir()
    (dirs.etc_wireguard / "broken.conf").write_text("[Interface]\nMTU = 1\n")
    code, out, _ = run(capsys, "profile", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "FORMAT", "ENDPOINT", "ADDRESS", "PATH"]
    work = next(line for line in lines if line.startswith("work "))
    assert "198.51.100.7:51820, [2001:db8::7]:51821, vpn.example.net:443" in work
    assert "10.77.0.2/32, fd77::2/128" in work and str(dirs.user / "work.conf") in work
    assert any(line.startswith("handwritten ") and "toml" in line for line in lines)
    broken = next(line for line in lines if line.startswith("broken "))
    assert "invalid:" in broken and "broken.conf:1: PrivateKey: missing" in broken
    assert "(+" in broken  # more problems than the first

    code, out, _ = run(capsys, "profile", "list", "--names")
    assert out == "broken\nhandwritten\nwork\n"

    code, out, _ = run(capsys, "profile", "list", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["work"]["endpoints"] == [
        "198.51.100.7:51820",
        "[2001:db8::7]:51821",
        "vpn.example.net:443",
    ]
    assert rows["work"]["error"] is None and rows["work"]["format"] == "conf"
    assert rows["broken"]["error"].endswith("invalid profile (4 problems)")
    assert len(rows["broken"]["problems"]) == 4


def test_list_names_imports_no_cryptography(dirs):
    (dirs.user).mkdir(parents=True)
    (dirs.user / "fast.conf").write_text("")
    code = (
        "import sys\nfrom wirecage.cli import main\n"
        "rc = main(['profile', 'list', '--names'])\n"
        "assert not [m for m in sys.modules if m.startswith('cryptography')], 'imported'\n"
        "sys.exit(rc)\n"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(src), "XDG_CONFIG_HOME": str(dirs.config)},
    )
    assert result.returncode == 0, result.stderr
    assert "fast" in result.stdout.split()


# --- show ---------------------------------------------------------------------------------------


def test_show_hides_keys_but_not_the_derived_public_key(capsys, dirs):
    import_fixture(capsys, "provider.conf", "--name", "work")
    code, out, err = run(capsys, "profile", "show", "work")
    assert code == 0
    assert f"public key:    {CLIENT_PUBLIC}" in out
    assert "private key:   (hidden)" in out and "preshared key: (hidden)" in out
    assert "ignored: PostUp, PreDown, Table" in out
    for secret in SECRETS:
        assert secret not in out + err

    code, out, _ = run(capsys, "profile", "show", "work", "--show-keys")
    assert f"private key:   {CLIENT_PRIVATE}" in out and f"preshared key: {PSK}" in out


def test_show_json_is_the_documented_stable_shape(capsys, dirs):
    import_fixture(capsys, "provider.conf", "--name", "work")
    code, out, _ = run(capsys, "profile", "show", "work", "--json")
    assert code == 0
    view = json.loads(out)
    assert view == {
        "name": "work",
        "path": str(dirs.user / "work.conf"),
        "format": "conf",
        "interface": {
            "public_key": CLIENT_PUBLIC,
            "private_key": "(hidden)",
            "private_key_file": None,
            "addresses": ["10.77.0.2/32", "fd77::2/128"],
            "dns": ["10.77.0.1", "fd77::1"],
            "dns_search": ["corp.example"],
            "mtu": 1420,
            "listen_port": None,
        },
        "peers": [
            {
                "public_key": "jhNKkS+JHIoQOisoVGLDqacJ1txdFOlQ4+j8pE0GTGY=",
                "preshared_key": "(hidden)",
                "preshared_key_file": None,
                "endpoint": "198.51.100.7:51820",
                "allowed_ips": ["10.77.0.1/32", "192.168.0.0/16", "fd77::1/128"],
                "persistent_keepalive": 25,
            },
            {
                "public_key": "y1vfjav4F19yVsTZdGNsbri1YoR7SeZKYC+rIddg5i4=",
                "preshared_key": None,
                "preshared_key_file": None,
                "endpoint": "[2001:db8::7]:51821",
                "allowed_ips": ["172.16.0.0/12"],
                "persistent_keepalive": None,
            },
            {
                "public_key": "PFKgmKzy3X7x93Rd45tzI51fR3uTpmi83bsOyvwb5Rs=",
                "preshared_key": None,
                "preshared_key_file": None,
                "endpoint": "vpn.example.net:443",
                "allowed_ips": ["10.78.0.0/16", "fd78::/64"],
                "persistent_keepalive": None,
            },
        ],
        "ignored": ["PostUp", "PreDown", "Table"],
    }
    code, out, _ = run(capsys, "profile", "show", "work", "--json", "--show-keys")
    view = json.loads(out)
    assert view["interface"]["private_key"] == CLIENT_PRIVATE
    assert view["peers"][0]["preshared_key"] == PSK


def test_show_a_path_and_a_missing_name(capsys, dirs):
    code, out, _ = run(capsys, "profile", "show", str(FIXTURES / "windows.conf"))
    assert code == 0 and "profile -: " in out
    code, out, err = run(capsys, "profile", "show", "nothere")
    assert (code, out) == (1, "")
    assert "wirecage: error: no profile named 'nothere'" in err and "hint:" in err
    assert "Traceback" not in err


# --- import -------------------------------------------------------------------------------------


def test_import_keeps_the_file_verbatim_at_0600(capsys, dirs):
    code, out, _ = run(capsys, "profile", "import", str(FIXTURES / "provider.conf"))
    assert code == 0 and "imported profile 'provider'" in out
    stored = dirs.user / "provider.conf"
    assert stored.read_bytes() == (FIXTURES / "provider.conf").read_bytes()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_import_converts_between_formats(capsys, dirs):
    import_fixture(capsys, "provider.conf", "--name", "work", "--format", "toml")
    text = (dirs.user / "work.toml").read_text()
    assert text.startswith("[interface]\n") and "[[peer]]" in text
    code, out, _ = run(capsys, "profile", "show", "work", "--json")
    assert json.loads(out)["format"] == "toml"


def test_import_from_stdin_needs_a_name(capsys, dirs, monkeypatch):
    conf = (FIXTURES / "provider.conf").read_bytes()
    code, _, err = run(capsys, "profile", "import", "-", stdin=conf, monkeypatch=monkeypatch)
    assert code == 2 and "--name" in err
    code, _, err = run(
        capsys, "profile", "import", "-", "--name", "piped", stdin=conf, monkeypatch=monkeypatch
    )
    assert code == 0, err
    assert (dirs.user / "piped.conf").read_bytes() == conf
    toml = (FIXTURES / "handwritten.toml").read_bytes()
    code, _, err = run(
        capsys, "profile", "import", "-", "--name", "t", stdin=toml, monkeypatch=monkeypatch
    )
    assert code == 0, err
    assert (dirs.user / "t.toml").exists()  # the format was recognised


def test_import_refuses_to_overwrite_without_force(capsys, dirs):
    import_fixture(capsys, "provider.conf", "--name", "work")
    code, _, err = run(
        capsys, "profile", "import", str(FIXTURES / "windows.conf"), "--name", "work"
    )
    assert code == 1 and "already exists" in err and "--force" in err
    assert (dirs.user / "work.conf").read_bytes() == (FIXTURES / "provider.conf").read_bytes()
    import_fixture(capsys, "windows.conf", "--name", "work", "--force")
    # The file as it was, less the byte order mark.
    expected = (FIXTURES / "windows.conf").read_bytes().removeprefix(b"\xef\xbb\xbf")
    assert (dirs.user / "work.conf").read_bytes() == expected


def test_import_of_an_invalid_file_stores_nothing(capsys, dirs):
    code, out, err = run(capsys, "profile", "import", str(FIXTURES / "amnezia.conf"))
    assert code == 1 and out == ""
    assert f"{FIXTURES / 'amnezia.conf'}:4: Jc: AmneziaWG obfuscation is not supported" in err
    assert not dirs.user.exists() or not list(dirs.user.iterdir())


def test_import_makes_relative_key_files_absolute(capsys, dirs, tmp_path):
    shutil.copy(FIXTURES / "keyfiles.toml", tmp_path)
    shutil.copytree(FIXTURES / "keys", tmp_path / "keys")
    for key in (tmp_path / "keys").iterdir():
        key.chmod(0o600)
    code, _, err = run(capsys, "profile", "import", str(tmp_path / "keyfiles.toml"))
    assert code == 0, err
    stored = (dirs.user / "keyfiles.toml").read_text()
    assert f'private_key_file = "{tmp_path / "keys" / "client.key"}"' in stored
    assert CLIENT_PRIVATE not in stored and PSK not in stored
    code, out, _ = run(capsys, "profile", "show", "keyfiles", "--json", "--show-keys")
    assert json.loads(out)["interface"]["private_key"] == CLIENT_PRIVATE


# --- new ----------------------------------------------------------------------------------------


def test_new_generates_a_key_and_prints_only_the_public_key(capsys, dirs):
    code, out, err = run(
        capsys, "profile", "new", "fresh",
        "--endpoint", "[2001:db8::1]:51820", "--peer-public-key", SERVER_PUBLIC,
        "--address", "10.77.0.9/32", "--address", "fd77::9/128", "--dns", "10.77.0.1",
        "--dns", "corp.example",
    )  # fmt: skip
    assert code == 0, err
    public = out.strip()
    assert len(out) == 45 and "administrator" in err
    code, shown, _ = run(capsys, "profile", "show", "fresh", "--json", "--show-keys")
    view = json.loads(shown)
    assert view["interface"]["public_key"] == public
    private = base64.b64decode(view["interface"]["private_key"])
    assert private[0] & 7 == 0 and private[31] & 0xC0 == 0x40  # clamped as wg genkey does
    assert view["peers"][0]["allowed_ips"] == ["0.0.0.0/0", "::/0"]  # the default
    assert view["peers"][0]["endpoint"] == "[2001:db8::1]:51820"
    assert view["interface"]["dns"] == ["10.77.0.1"]
    assert view["interface"]["dns_search"] == ["corp.example"]
    stored = dirs.user / "fresh.conf"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_new_with_a_preshared_key_file_in_toml(capsys, dirs, tmp_path, monkeypatch):
    psk = tmp_path / "peer.psk"
    psk.write_text(PSK + "\n")
    psk.chmod(0o600)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        capsys, "profile", "new", "withpsk", "--format", "toml",
        "--endpoint", "198.51.100.1:51820", "--peer-public-key", SERVER_PUBLIC,
        "--address", "10.77.0.9/32", "--allowed-ips", "10.77.0.0/24",
        "--preshared-key-file", "peer.psk",
    )  # fmt: skip
    assert code == 0, err
    stored = (dirs.user / "withpsk.toml").read_text()
    assert f'preshared_key_file = "{psk}"' in stored and PSK not in stored
    code, out, _ = run(capsys, "profile", "show", "withpsk", "--json", "--show-keys")
    peer = json.loads(out)["peers"][0]
    assert peer["preshared_key"] == PSK and peer["allowed_ips"] == ["10.77.0.0/24"]


def test_new_with_bad_arguments_is_a_usage_error_listing_all(capsys, dirs):
    code, out, err = run(
        capsys, "profile", "new", "x", "--endpoint", "nowhere",
        "--peer-public-key", "short", "--address", "10.0.0.300",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert "command line: --endpoint:" in err
    assert "command line: --peer-public-key:" in err
    assert "command line: --address:" in err
    assert not dirs.user.exists() or not list(dirs.user.iterdir())


def test_new_refuses_an_existing_name_and_a_missing_psk_file(capsys, dirs):
    import_fixture(capsys, "windows.conf", "--name", "taken")
    args = ["--endpoint", "198.51.100.1:1", "--peer-public-key", SERVER_PUBLIC, "--address",
            "10.0.0.2"]  # fmt: skip
    code, _, err = run(capsys, "profile", "new", "taken", *args)
    assert code == 1 and "already exists" in err
    code, _, err = run(capsys, "profile", "new", "other", *args, "--preshared-key-file", "/nope")
    assert code == 1 and "cannot read key file /nope" in err
    assert not (dirs.user / "other.conf").exists()


# --- edit ---------------------------------------------------------------------------------------

EDITOR = textwrap.dedent(
    """\
    # A scripted editor: each run replaces the file with the next queued text and
    # records the mode and path of the file it was given.
    import os, pathlib, stat, sys
    target = pathlib.Path(sys.argv[1])
    queue = pathlib.Path(os.environ["EDIT_QUEUE"])
    with open(queue / "log", "a") as log:
        log.write(f"{target} {stat.S_IMODE(target.stat().st_mode):o}\\n")
    items = sorted(p for p in queue.iterdir() if p.name.startswith("step"))
    if not items:
        sys.exit(3)
    text = items[0].read_text()
    items[0].unlink()
    if text != "UNCHANGED":
        target.write_text(text)
    """
)


@pytest.fixture
def editor(tmp_path, monkeypatch):
    queue = tmp_path / "queue"
    queue.mkdir()
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    monkeypatch.setenv("EDIT_QUEUE", str(queue))
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")

    def plan(*texts: str) -> Path:
        for index, text in enumerate(texts):
            (queue / f"step{index:02d}").write_text(text)
        return queue / "log"

    return plan


def test_edit_saves_a_valid_change_atomically(capsys, dirs, editor):
    import_fixture(capsys, "windows.conf", "--name", "work")
    conf_text = (dirs.user / "work.conf").read_text().replace("10.77.0.2/24", "10.77.0.3/24")
    log = editor(conf_text)
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 0, err
    assert "10.77.0.3/24" in (dirs.user / "work.conf").read_text()
    assert stat.S_IMODE((dirs.user / "work.conf").stat().st_mode) == 0o600
    edited_path, mode = log.read_text().split()
    # The editor worked on a 0600 copy outside the profile directory, since removed.
    assert mode == "600" and not edited_path.startswith(str(dirs.user))
    assert not Path(edited_path).exists()


def test_edit_saves_through_a_symlink_and_touches_nothing_else(capsys, dirs, editor, tmp_path):
    import_fixture(capsys, "windows.conf", "--name", "work")
    # The user keeps the file elsewhere and links it in; a TOML profile shares the name.
    elsewhere = tmp_path / "mine" / "work.conf"
    elsewhere.parent.mkdir()
    (dirs.user / "work.conf").rename(elsewhere)
    (dirs.user / "work.conf").symlink_to(elsewhere)
    (dirs.user / "work.toml").write_text("# the user's other file\n")
    editor(elsewhere.read_text().replace("10.77.0.2/24", "10.77.0.5/24"))
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 0, err
    assert (dirs.user / "work.conf").is_symlink()
    assert "10.77.0.5/24" in elsewhere.read_text()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    assert (dirs.user / "work.toml").read_text() == "# the user's other file\n"


def test_edit_without_changes(capsys, dirs, editor):
    import_fixture(capsys, "windows.conf", "--name", "work")
    editor("UNCHANGED")
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 0 and "no changes" in err


def test_edit_offers_to_reedit_and_never_stores_an_invalid_profile(
    capsys, dirs, editor, monkeypatch
):
    import_fixture(capsys, "windows.conf", "--name", "work")
    before = (dirs.user / "work.conf").read_bytes()
    good = before.decode("utf-8-sig").replace("10.77.0.2/24", "10.77.0.4/24")
    editor("[Interface]\nMTU = 1\n", good)
    code, _, err = run(capsys, "profile", "edit", "work", stdin=b"e\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "work.conf:2: MTU: 1 is outside 576-65535" in err
    assert "(e)dit again, (a)bort" in err
    assert "10.77.0.4/24" in (dirs.user / "work.conf").read_text()


def test_edit_abort_keeps_the_old_profile(capsys, dirs, editor, monkeypatch):
    import_fixture(capsys, "windows.conf", "--name", "work")
    before = (dirs.user / "work.conf").read_bytes()
    editor("[Interface]\nbroken\n")
    code, _, err = run(capsys, "profile", "edit", "work", stdin=b"a\n", monkeypatch=monkeypatch)
    assert code == 1 and "unchanged" in err
    assert (dirs.user / "work.conf").read_bytes() == before


def test_edit_end_of_input_aborts_instead_of_editing_forever(capsys, dirs, editor, monkeypatch):
    import_fixture(capsys, "windows.conf", "--name", "work")
    before = (dirs.user / "work.conf").read_bytes()
    # Two invalid edits queued: re-editing at end of input would run the editor again.
    log = editor("[Interface]\nMTU = 1\n", "[Interface]\nMTU = 2\n")
    code, _, err = run(capsys, "profile", "edit", "work", stdin=b"", monkeypatch=monkeypatch)
    assert code == 1 and "edit aborted" in err
    assert len(log.read_text().splitlines()) == 1  # the editor ran once
    assert (dirs.user / "work.conf").read_bytes() == before


def test_edit_asks_again_after_an_unknown_answer(capsys, dirs, editor, monkeypatch):
    import_fixture(capsys, "windows.conf", "--name", "work")
    before = (dirs.user / "work.conf").read_bytes()
    log = editor("[Interface]\nMTU = 1\n", "[Interface]\nMTU = 2\n")
    code, _, err = run(
        capsys, "profile", "edit", "work", stdin=b"yes\nq\na\n", monkeypatch=monkeypatch
    )
    assert code == 1 and "edit aborted" in err
    assert err.count("Please answer e (edit again) or a (abort)") == 2
    assert len(log.read_text().splitlines()) == 1
    assert (dirs.user / "work.conf").read_bytes() == before


def test_edit_when_the_editor_fails_or_is_missing(capsys, dirs, editor, monkeypatch):
    import_fixture(capsys, "windows.conf", "--name", "work")
    before = (dirs.user / "work.conf").read_bytes()
    editor()  # nothing queued: the scripted editor exits 3
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 1 and "status 3" in err
    monkeypatch.setenv("EDITOR", "/nonexistent/editor")
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 1 and "cannot run the editor" in err and "hint:" in err
    assert (dirs.user / "work.conf").read_bytes() == before


# --- remove, rename, export, check --------------------------------------------------------------


def test_remove_asks_unless_yes(capsys, dirs, monkeypatch):
    import_fixture(capsys, "windows.conf", "--name", "work")
    code, _, err = run(capsys, "profile", "remove", "work", stdin=b"n\n", monkeypatch=monkeypatch)
    assert code == 1 and "not removed" in err and (dirs.user / "work.conf").exists()
    code, _, err = run(capsys, "profile", "remove", "work", stdin=b"", monkeypatch=monkeypatch)
    assert code == 1 and (dirs.user / "work.conf").exists()  # end of input is "no"
    code, out, _ = run(capsys, "profile", "remove", "work", stdin=b"y\n", monkeypatch=monkeypatch)
    assert code == 0 and "removed profile 'work'" in out
    assert not (dirs.user / "work.conf").exists()
    import_fixture(capsys, "windows.conf", "--name", "work")
    assert run(capsys, "profile", "remove", "work", "--yes")[0] == 0
    assert not (dirs.user / "work.conf").exists()
    code, _, err = run(capsys, "profile", "remove", "work", "--yes")
    assert code == 1 and "no profile named 'work'" in err


def test_rename(capsys, dirs):
    import_fixture(capsys, "windows.conf", "--name", "old")
    import_fixture(capsys, "windows.conf", "--name", "taken")
    code, _, err = run(capsys, "profile", "rename", "old", "taken")
    assert code == 1 and "already exists" in err
    code, _, err = run(capsys, "profile", "rename", "old", "bad/name")
    assert code == 2 and "not a valid profile name" in err
    code, out, _ = run(capsys, "profile", "rename", "old", "new")
    assert code == 0 and (dirs.user / "new.conf").exists() and not (dirs.user / "old.conf").exists()


def test_export_includes_keys(capsys, dirs):
    import_fixture(capsys, "provider.conf", "--name", "work")
    code, out, _ = run(capsys, "profile", "export", "work")
    assert code == 0
    assert out == (FIXTURES / "provider.conf").read_text()  # as the user stored it
    code, out, _ = run(capsys, "profile", "export", "work", "--format", "toml")
    assert code == 0 and f'private_key = "{CLIENT_PRIVATE}"' in out
    assert f'preshared_key = "{PSK}"' in out


def test_check(capsys, dirs):
    code, out, _ = run(capsys, "profile", "check", str(FIXTURES / "provider.conf"))
    assert code == 0 and out.endswith("ok (3 peers)\n")
    bad = dirs.config / "bad.conf"
    bad.write_text("[Interface]\nPrivateKey = nope\nAddress = 10.0.0.1\n[Peer]\nEndpoint = x:0\n")
    code, out, err = run(capsys, "profile", "check", str(bad))
    assert (code, out) == (1, "")
    assert f"{bad}:2: PrivateKey: a key is exactly 44 base64 characters" in err
    assert f"{bad}:4: PublicKey: missing" in err
    assert f"{bad}:5: Endpoint: endpoint 'x:0': port 0 is outside 1-65535" in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["profile", "show"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["profile", "import", "x.conf", "--format", "ini"])
    assert info.value.code == 2


# --- secrets: nothing shows a key without --show-keys, not even debug logs ----------------------


def test_no_secret_in_any_output_or_debug_log(capsys, dirs, editor, monkeypatch, tmp_path):
    shutil.copytree(FIXTURES / "keys", tmp_path / "keys")
    for key in (tmp_path / "keys").iterdir():
        key.chmod(0o644)  # readable: the warnings name the files, never their contents
    shutil.copy(FIXTURES / "keyfiles.conf", tmp_path)
    outputs = []
    bad_key = CLIENT_PRIVATE[:-3] + "!!="

    def capture(*argv, stdin=None):
        code, out, err = run(capsys, "-v", "--debug", *argv, stdin=stdin, monkeypatch=monkeypatch)
        outputs.append((argv, code, out + err))

    capture("profile", "import", str(FIXTURES / "provider.conf"), "--name", "work")
    capture("profile", "import", str(tmp_path / "keyfiles.conf"), "--format", "toml")
    capture("profile", "list")
    capture("profile", "list", "--json")
    capture("profile", "show", "work")
    capture("profile", "show", "work", "--json")
    capture("profile", "show", "keyfiles")
    capture("profile", "check", "work")
    capture("profile", "check", str(FIXTURES / "provider.conf"))
    editor(
        (FIXTURES / "provider.conf").read_text().replace(CLIENT_PRIVATE, bad_key),
        (FIXTURES / "provider.conf").read_text().replace("MTU = 1420", "MTU = 1400"),
    )
    capture("profile", "edit", "work", stdin=b"e\n")
    (dirs.config / "bad.conf").write_text(f"[Interface]\nPrivateKey = {bad_key}\n")
    capture("profile", "check", str(dirs.config / "bad.conf"))
    capture("profile", "rename", "work", "job")
    capture("profile", "remove", "job", "--yes")
    assert [code for _, code, _ in outputs] == [0] * 10 + [1, 0, 0], outputs
    for argv, _, text in outputs:
        for secret in (*SECRETS, bad_key, bad_key[:40]):
            assert secret not in text, f"secret shown by {argv}"
    # The debug output did run (so the check above covered it).
    assert any("ignoring PostUp" in text for _, _, text in outputs)
    assert any("debug traceback" in text for _, _, text in outputs)


# --- keys, compared with the real wg ------------------------------------------------------------


def wg(*args: str, stdin: bytes = b"") -> bytes:
    if shutil.which("wg") is None:
        pytest.skip("needs wg from wireguard-tools (scripts/setup.sh installs it)")
    return subprocess.run(["wg", *args], input=stdin, capture_output=True, check=True).stdout


def test_genkey_is_a_clamped_key_that_wg_accepts(capsys, monkeypatch):
    code, out, _ = run(capsys, "genkey")
    assert code == 0 and len(out) == 45 and out.endswith("\n")
    raw = base64.b64decode(out.strip(), validate=True)
    assert len(raw) == 32 and raw[0] & 7 == 0 and raw[31] & 0xC0 == 0x40
    code, ours, _ = run(capsys, "pubkey", stdin=out.encode(), monkeypatch=monkeypatch)
    assert ours.encode() == wg("pubkey", stdin=out.encode())


def test_pubkey_matches_wg_pubkey_for_wg_genkey_and_unclamped_keys(capsys, monkeypatch):
    import random

    rng = random.Random(2)
    keys = [wg("genkey") for _ in range(3)]
    keys += [base64.b64encode(rng.randbytes(32)) + b"\n" for _ in range(5)]  # not clamped
    keys += [base64.b64encode(bytes(32)), base64.b64encode(b"\xff" * 32) + b" \n\n"]
    keys += [keys[0].strip() + b"\0\t\r\v\f" + b"\n" * 70_000]  # more than one read
    for key in keys:
        code, out, err = run(capsys, "pubkey", stdin=key, monkeypatch=monkeypatch)
        assert code == 0, err
        assert out.encode() == wg("pubkey", stdin=key), key


def test_genpsk_looks_like_wg_genpsk(capsys):
    code, out, _ = run(capsys, "genpsk")
    theirs = wg("genpsk").decode()
    assert code == 0
    assert len(out) == len(theirs) == 45 and out.endswith("\n") and theirs.endswith("\n")
    assert len(base64.b64decode(out.strip(), validate=True)) == 32
    assert run(capsys, "genpsk")[1] != out  # fresh randomness each time


@pytest.mark.parametrize(
    "stdin",
    [b"", b"short\n", CLIENT_PRIVATE.encode() + b"x", CLIENT_PRIVATE[:-1].encode() + b"!\n",
     b" " + CLIENT_PRIVATE.encode(), CLIENT_PRIVATE.encode() + b"\n" * 70_000 + b"x\n"],
    ids=["empty", "short", "trailing", "not-base64", "leading-space", "far-trailing"],
)  # fmt: skip
def test_pubkey_rejects_what_wg_rejects(capsys, monkeypatch, stdin):
    code, out, err = run(capsys, "pubkey", stdin=stdin, monkeypatch=monkeypatch)
    assert (code, out) == (1, "")
    assert "wirecage: error: pubkey:" in err and CLIENT_PRIVATE not in err
    if shutil.which("wg"):
        result = subprocess.run(["wg", "pubkey"], input=stdin, capture_output=True)
        assert result.returncode != 0


def test_genkey_warns_like_wg_about_a_world_readable_file(tmp_path):
    src = Path(__file__).resolve().parents[2] / "src"
    target = tmp_path / "key"
    with open(target, "w") as f:
        os.chmod(target, 0o644)
        result = subprocess.run(
            [sys.executable, "-m", "wirecage", "genkey"],
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(src)},
        )
    assert result.returncode == 0
    assert "world accessible" in result.stderr and "umask 077" in result.stderr
    assert len(target.read_text()) == 45


def test_closed_standard_input_is_no_key_and_no_profile(capsys, monkeypatch):
    # Started with <&-: Python has no sys.stdin at all.
    monkeypatch.setattr(sys, "stdin", None)
    code, out, err = run(capsys, "pubkey")
    assert (code, out) == (1, "") and "pubkey: not a key" in err
    code, out, err = run(capsys, "profile", "import", "-", "--name", "x")
    assert (code, out) == (1, "") and "<stdin>: no [Interface] section" in err


# --- failures of the operating system: an error line, never a traceback ---------------------------

SRC = Path(__file__).resolve().parents[2] / "src"


def wirecage(*argv: str, env: dict | None = None, shell_redirect: str = "", **kwargs):
    """``python -m wirecage ARGV`` in a fresh process (its real standard streams)."""
    command = ["bash", "-c", f'exec "$@" {shell_redirect}', "bash", sys.executable, "-m"]
    return subprocess.run(
        [*command, "wirecage", *argv],
        env={**os.environ, "PYTHONPATH": str(SRC), **(env or {})},
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_store_write_failures_are_errors_not_tracebacks(capsys, dirs):
    # Root-proof triggers: a file where the profile directory belongs, a directory where the
    # profile file belongs.
    dirs.user.parent.mkdir(parents=True)
    dirs.user.write_text("")
    args = ["--endpoint", "198.51.100.1:1", "--peer-public-key", SERVER_PUBLIC, "--address",
            "10.0.0.2"]  # fmt: skip
    for argv in (
        ["profile", "import", str(FIXTURES / "windows.conf")],
        ["profile", "new", "fresh", *args],
    ):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (1, ""), err
        assert f"wirecage: error: cannot create the profile directory {dirs.user}" in err
        assert "hint: " in err and "Traceback" not in err
    dirs.user.unlink()
    (dirs.user / "dirp.conf").mkdir(parents=True)
    code, _, err = run(
        capsys, "profile", "import", str(FIXTURES / "windows.conf"), "--name", "dirp", "--force"
    )
    assert code == 1 and f"cannot write {dirs.user / 'dirp.conf'}: Is a directory" in err


@pytest.mark.parametrize(
    "argv", [["remove", "--yes", "work"], ["rename", "work", "job"], ["edit", "work"]]
)
def test_remove_rename_and_edit_failures_are_errors(capsys, dirs, editor, monkeypatch, argv):
    from wirecage.profiles import store

    import_fixture(capsys, "windows.conf", "--name", "work")
    editor((dirs.user / "work.conf").read_text() + "\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    for name in ("link", "replace", "unlink"):
        monkeypatch.setattr(store.os, name, refuse)
    monkeypatch.setattr(store.Path, "unlink", refuse)
    code, out, err = run(capsys, "profile", *argv)
    assert (code, out) == (1, "")
    assert "Permission denied" in err and str(dirs.user) in err and "Traceback" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(
    "argv",
    [["genkey"], ["profile", "list"], ["profile", "list", "--names"], ["completion", "bash"],
     ["profile", "export", "work"]],
)  # fmt: skip
def test_a_full_standard_output_is_an_error(capsys, dirs, argv):
    import_fixture(capsys, "windows.conf", "--name", "work")
    with open("/dev/full", "w") as full:
        result = wirecage(*argv, stdout=full)
    assert result.returncode == 1
    assert result.stderr == (
        "wirecage: error: cannot write to standard output: No space left on device\n"
    )


@pytest.mark.parametrize(
    "argv",
    [["genkey"], ["profile", "list"], ["profile", "show", "work"], ["profile", "check", "work"],
     ["profile", "list", "--names"], ["completion", "fish"]],
)  # fmt: skip
def test_a_closed_standard_output_is_an_error(capsys, dirs, argv):
    import_fixture(capsys, "windows.conf", "--name", "work")
    result = wirecage(*argv, shell_redirect=">&-")
    assert result.returncode == 1
    assert "wirecage: error: standard output is closed" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_closed_standard_output_in_process(capsys, dirs, monkeypatch):
    import_fixture(capsys, "windows.conf", "--name", "work")
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["profile", "show", "work"]) == 1
    assert sys.stdout is None  # given back as it was
    assert "standard output is closed" in capsys.readouterr().err


def test_a_broken_pipe_still_ends_quietly(dirs):
    # A reader that went away before the output came (`wirecage completion bash | true`).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = wirecage("completion", "bash", stdout=write_end)
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (1, "")


def test_an_editor_variable_that_is_no_command_line(capsys, dirs, monkeypatch):
    import_fixture(capsys, "windows.conf", "--name", "work")
    monkeypatch.setenv("EDITOR", "'")
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 2
    assert "wirecage: error: $EDITOR is not a command line: No closing quotation" in err
    monkeypatch.setenv("VISUAL", "vi \\")
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 2 and "$VISUAL is not a command line" in err


def test_huge_and_special_files_are_refused(capsys, dirs, monkeypatch, tmp_path):
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    for argv in (["check", "/dev/zero"], ["import", "/dev/zero", "--name", "z"],
                 ["check", str(fifo)], ["import", str(fifo), "--name", "f"],
                 ["check", str(tmp_path)]):  # fmt: skip
        code, out, err = run(capsys, "profile", *argv)
        assert (code, out) == (1, "") and "cannot read" in err and "regular file" in err
    code, _, err = run(
        capsys, "profile", "import", "-", "--name", "big",
        stdin=b"#" * ((1 << 20) + 1), monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == 1 and "<stdin>: too large for a profile" in err
    assert not dirs.user.exists() or not list(dirs.user.iterdir())


def test_a_name_ending_in_conf_is_refused_and_an_old_one_listed(capsys, dirs):
    code, _, err = run(
        capsys, "profile", "import", str(FIXTURES / "windows.conf"), "--name", "corp.conf"
    )
    assert code == 2 and "read as a path" in err
    code, _, err = run(capsys, "profile", "import", str(dirs.config / "corp.toml.conf"))
    assert code == 1  # no such file; the name would be refused too
    dirs.user.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "windows.conf", dirs.user / "corp.conf.conf")
    import_fixture(capsys, "windows.conf", "--name", "work")
    code, out, _ = run(capsys, "profile", "list")
    assert code == 0
    corp = next(line for line in out.splitlines() if line.startswith("corp.conf "))
    assert "invalid:" in corp and "read as a path" in corp
    assert run(capsys, "profile", "list", "--names")[1] == "work\n"


def test_a_dangling_symlink_keeps_its_name(capsys, dirs):
    dirs.user.mkdir(parents=True)
    (dirs.user / "dang.conf").symlink_to(dirs.user / "gone.conf")
    code, _, err = run(
        capsys, "profile", "import", str(FIXTURES / "windows.conf"), "--name", "dang",
        "--format", "toml",
    )  # fmt: skip
    assert code == 1 and "already exists" in err
    assert not (dirs.user / "dang.toml").exists()


def test_messages_name_what_the_user_gave(capsys, dirs):
    import_fixture(capsys, "windows.conf", "--name", "home")
    code, _, err = run(capsys, "profile", "rename", "home", "home")
    assert code == 1 and "already named 'home'" in err and "--force" not in err
    import_fixture(capsys, "windows.conf", "--name", "away")
    code, _, err = run(capsys, "profile", "rename", "home", "away")
    assert code == 1 and "already exists" in err and "--force" not in err
    args = ["--endpoint", "198.51.100.1:1", "--peer-public-key", SERVER_PUBLIC, "--address",
            "10.0.0.2", "--preshared-key-file", "/nonexist"]  # fmt: skip
    code, _, err = run(capsys, "profile", "new", "fresh", *args)
    assert code == 1
    assert "--preshared-key-file: cannot read key file /nonexist" in err
    assert "PostUp" not in err and "command line:" not in err


def test_check_notes_ignored_keys_without_v(capsys):
    path = FIXTURES / "provider.conf"
    code, out, err = run(capsys, "profile", "check", str(path))
    assert code == 0 and out.endswith("ok (3 peers)\n")
    assert f"wirecage: note: {path}: ignoring PostUp, PreDown, Table" in err
    code, _, err = run(capsys, "-q", "profile", "check", str(path))
    assert code == 0 and "ignoring" not in err


def test_edit_when_the_copy_cannot_be_made_or_is_gone(capsys, dirs, monkeypatch, tmp_path):
    import_fixture(capsys, "windows.conf", "--name", "work")
    before = (dirs.user / "work.conf").read_bytes()
    monkeypatch.setenv("EDITOR", "rm")  # an "editor" that removes the file it was given
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 1 and "cannot read the edited copy" in err and "unchanged" in err
    assert "Traceback" not in err
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    import tempfile

    # As if $TMPDIR named a file (gettempdir() would skip a bad $TMPDIR it checks itself).
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_dir))
    code, _, err = run(capsys, "profile", "edit", "work")
    assert code == 1 and "cannot make a directory for the copy" in err and "$TMPDIR" in err
    assert (dirs.user / "work.conf").read_bytes() == before


def test_import_keeps_what_percent_i_meant_in_a_key_file_path(capsys, dirs, tmp_path, monkeypatch):
    # wg-quick's %i is the interface, named after the file: wg0.conf's %i.key is wg0.key,
    # whatever name the profile is stored under. From standard input, the name given.
    for name in ("wg0", "piped"):
        (tmp_path / f"{name}.key").write_text(CLIENT_PRIVATE + "\n")
        (tmp_path / f"{name}.key").chmod(0o600)
    text = (
        "[Interface]\nAddress = 10.77.0.2/32\n"
        f"PostUp = wg set %i private-key {tmp_path}/%i.key\n"
        f"[Peer]\nPublicKey = {SERVER_PUBLIC}\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 0.0.0.0/0\n"
    )
    (tmp_path / "wg0.conf").write_text(text)
    code, _, err = run(capsys, "profile", "import", str(tmp_path / "wg0.conf"), "--name", "work")
    assert code == 0, err
    code, _, err = run(capsys, "profile", "import", "-", "--name", "piped",
                       stdin=text.encode(), monkeypatch=monkeypatch)  # fmt: skip
    assert code == 0, err
    for stored, key_file in (("work", "wg0.key"), ("piped", "piped.key")):
        code, out, err = run(capsys, "profile", "show", stored, "--json")
        assert code == 0, err
        assert json.loads(out)["interface"]["private_key_file"] == str(tmp_path / key_file)


def test_import_from_stdin_in_a_removed_working_directory(capsys, dirs, tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    text = (FIXTURES / "windows.conf").read_bytes()
    code, out, err = run(capsys, "profile", "import", "-", "--name", "piped",
                         stdin=text, monkeypatch=monkeypatch)  # fmt: skip
    assert code == 0 and "Traceback" not in err, err
    assert run(capsys, "profile", "check", "piped")[0] == 0
