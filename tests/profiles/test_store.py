"""The profile store: search path, names, atomic 0600 writes, no silent overwrite."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from profiles.keys import CLIENT_PRIVATE, SERVER_PUBLIC
from wirecage.errors import ProfileError
from wirecage.profiles import store

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = (FIXTURES / "windows.conf").read_bytes().decode("utf-8-sig").replace("\r\n", "\n")


def put(directory: Path, name: str, text: str = GOOD, mode: int = 0o600) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    path.chmod(mode)
    return path


def test_profile_dirs_follow_xdg_then_etc(dirs, monkeypatch):
    assert store.profile_dirs() == [dirs.user, dirs.etc_wirecage, dirs.etc_wireguard]
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", "/home/someone")
    assert store.user_profile_dir() == Path("/home/someone/.config/wirecage/profiles")
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # ignored, as the XDG spec says
    assert store.user_profile_dir() == Path("/home/someone/.config/wirecage/profiles")


def test_the_real_system_directories():
    # The fixture replaces them for every test; ask a fresh interpreter for the defaults.
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run(
        [sys.executable, "-c", "from wirecage.profiles import store; print(store.profile_dirs())"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src), "XDG_CONFIG_HOME": "/x"},
        timeout=60,
        check=True,
    ).stdout
    assert out.strip() == (
        "[PosixPath('/x/wirecage/profiles'), PosixPath('/etc/wirecage/profiles'), "
        "PosixPath('/etc/wireguard')]"
    )


def test_a_name_is_found_in_search_order_conf_before_toml(dirs):
    put(dirs.etc_wireguard, "wg0.conf")
    assert store.find_profile("wg0") == dirs.etc_wireguard / "wg0.conf"
    put(dirs.etc_wirecage, "wg0.toml", "")
    assert store.find_profile("wg0") == dirs.etc_wirecage / "wg0.toml"
    put(dirs.user, "wg0.toml", "")
    put(dirs.user, "wg0.conf")
    assert store.find_profile("wg0") == dirs.user / "wg0.conf"


def test_paths_are_paths_and_names_are_names(dirs):
    assert store.resolve("some/where") == (Path("some/where"), None)
    assert store.resolve("here.conf") == (Path("here.conf"), None)
    assert store.resolve("x.toml") == (Path("x.toml"), None)
    put(dirs.user, "work.conf")
    assert store.resolve("work") == (dirs.user / "work.conf", "work")


def test_unknown_name_says_where_it_looked(dirs):
    with pytest.raises(ProfileError) as info:
        store.find_profile("nope")
    assert "no profile named 'nope'" in info.value.message
    assert str(dirs.etc_wireguard) in info.value.message
    assert "wirecage profile list" in info.value.hint


@pytest.mark.parametrize("name", ["a", "work-vpn_2", "x.y+z=w", "A" * 64, "..", "-"])
def test_valid_names(name):
    assert store.check_name(name) == name


@pytest.mark.parametrize("name", ["", "A" * 65, "a b", "a/b", "é", "a:b", "a\n"])
def test_invalid_names_are_usage_errors(name):
    with pytest.raises(ProfileError) as info:
        store.check_name(name)
    assert info.value.exit_code == 2
    assert "_ . - + =" in info.value.hint


def test_list_profiles_in_search_order_with_shadowing(dirs):
    put(dirs.user, "b.toml", "")
    put(dirs.user, "a.conf")
    put(dirs.user, "notes.txt")  # not a profile
    put(dirs.user, "bad name.conf")  # not a valid name
    put(dirs.etc_wireguard, "a.conf")
    put(dirs.etc_wireguard, "wg0.conf")
    found = [(p.name, p.path, p.format, p.shadowed) for p in store.list_profiles()]
    assert found == [
        ("a", dirs.user / "a.conf", "conf", False),
        ("b", dirs.user / "b.toml", "toml", False),
        ("a", dirs.etc_wireguard / "a.conf", "conf", True),
        ("wg0", dirs.etc_wireguard / "wg0.conf", "conf", False),
    ]
    assert store.list_names() == ["a", "b", "wg0"]


def test_unreadable_system_directory_is_skipped(dirs, monkeypatch):
    # /etc/wireguard is 0700 root; a user's listing goes on without it. (Simulated: as root,
    # the tests could not make a directory unreadable.)
    put(dirs.etc_wireguard, "wg0.conf")
    put(dirs.user, "mine.conf")
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self == dirs.etc_wireguard:
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    assert [p.name for p in store.list_profiles()] == ["mine"]


def test_write_creates_a_0600_file_in_a_0700_directory(dirs):
    path = store.write_profile("work", GOOD, "conf")
    assert path == dirs.user / "work.conf"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(dirs.user.stat().st_mode) == 0o700
    assert path.read_text() == GOOD
    # No temporary file is left behind.
    assert sorted(p.name for p in dirs.user.iterdir()) == ["work.conf"]


def test_write_is_0600_whatever_the_umask(dirs):
    old = os.umask(0)
    try:
        path = store.write_profile("open", GOOD, "toml")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_never_overwrites_without_being_asked(dirs):
    store.write_profile("work", GOOD, "conf")
    with pytest.raises(ProfileError) as info:
        store.write_profile("work", "other", "conf")
    assert "already exists" in info.value.message and "--force" in info.value.hint
    # The same name in the other format counts as existing too.
    with pytest.raises(ProfileError):
        store.write_profile("work", "other", "toml")
    assert (dirs.user / "work.conf").read_text() == GOOD
    assert not (dirs.user / "work.toml").exists()
    assert sorted(p.name for p in dirs.user.iterdir()) == ["work.conf"]


def test_overwrite_replaces_and_drops_the_other_format(dirs):
    store.write_profile("work", GOOD, "conf")
    path = store.write_profile("work", "new text", "toml", overwrite=True)
    assert path.read_text() == "new text"
    assert sorted(p.name for p in dirs.user.iterdir()) == ["work.toml"]


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(dirs, monkeypatch):
    store.write_profile("work", GOOD, "conf")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "replace", broken_replace)
    with pytest.raises(ProfileError, match="cannot write .*work.conf: No space left on device"):
        store.write_profile("work", "half", "conf", overwrite=True)
    assert (dirs.user / "work.conf").read_text() == GOOD
    assert sorted(p.name for p in dirs.user.iterdir()) == ["work.conf"]


def test_a_write_racing_another_writer_does_not_overwrite(dirs, monkeypatch):
    # Another process creates the profile between our check and our link.
    real_write_temp = store._write_temp

    def racing(directory, name, data):
        tmp = real_write_temp(directory, name, data)
        (directory / f"{name}.conf").write_text("theirs")
        return tmp

    monkeypatch.setattr(store, "_write_temp", racing)
    with pytest.raises(ProfileError):
        store.write_profile("work", GOOD, "conf")
    assert (dirs.user / "work.conf").read_text() == "theirs"
    assert sorted(p.name for p in dirs.user.iterdir()) == ["work.conf"]


def test_readers_see_old_or_new_never_partial(dirs):
    """A reader in another process polling the file while we replace it many times."""
    big_a = GOOD + "# " + "a" * 200_000 + "\n"
    big_b = GOOD + "# " + "b" * 200_000 + "\n"
    path = store.write_profile("work", big_a, "conf")
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "path, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
            "bad = 0\n"
            "for _ in range(3000):\n"
            "    n = len(open(path).read())\n"
            "    bad += n not in (a, b)\n"
            "print(bad)\n",
            str(path),
            str(len(big_a)),
            str(len(big_b)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        while reader.poll() is None:
            for text in (big_b, big_a):
                store.write_profile("work", text, "conf", overwrite=True)
        out, _ = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert out.strip() == "0"


def test_remove_and_rename_only_touch_the_users_directory(dirs):
    put(dirs.etc_wireguard, "wg0.conf")
    with pytest.raises(ProfileError) as info:
        store.remove_profile("wg0")
    assert "outside" in info.value.message and "import" in info.value.hint
    assert (dirs.etc_wireguard / "wg0.conf").exists()

    store.write_profile("a", GOOD, "conf")
    store.write_profile("b", GOOD, "toml")
    with pytest.raises(ProfileError):
        store.rename_profile("a", "b")  # b exists, in another format even
    target = store.rename_profile("a", "c")
    assert target == dirs.user / "c.conf" and target.read_text() == GOOD
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not (dirs.user / "a.conf").exists()
    store.remove_profile("c")
    assert sorted(p.name for p in dirs.user.iterdir()) == ["b.toml"]


def test_load_profile_by_name_and_path(dirs):
    path = put(dirs.user, "work.conf")
    by_name = store.load_profile("work")
    assert by_name.name == "work" and by_name.path == path and by_name.format == "conf"
    by_path = store.load_profile(str(path))
    assert by_path == by_name and by_path.name is None


def test_load_profile_raises_with_every_problem(dirs):
    put(dirs.user, "bad.conf", "[Interface]\nMTU = 1\n[Peer]\n")
    with pytest.raises(ProfileError) as info:
        store.load_profile("bad")
    path = dirs.user / "bad.conf"
    assert info.value.problems == [
        f"{path}:1: PrivateKey: missing: the interface needs a private key "
        "(PrivateKey or PostUp = wg set %i private-key FILE)",
        f"{path}:1: Address: missing: the cage needs at least one tunnel address",
        f"{path}:2: MTU: 1 is outside 576-65535",
        f"{path}:3: PublicKey: missing: every peer needs a public key",
    ]


def test_load_profile_logs_ignored_keys_at_info_and_permissions_at_warning(dirs, caplog):
    provider = put(dirs.user, "provider.conf", (FIXTURES / "provider.conf").read_text(), 0o644)
    with caplog.at_level(logging.DEBUG, logger="wirecage"):
        store.load_profile("provider")
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (
        logging.WARNING,
        f"warning: profile {provider} is readable by group or others; fix: chmod 600 '{provider}'",
    ) in records
    assert (
        logging.INFO,
        f"{provider}: ignoring PostUp, PreDown, Table "
        "(host routing and firewall settings; a cage needs none)",
    ) in records
    assert all(CLIENT_PRIVATE not in message for _, message in records)


def test_a_profile_without_secrets_may_be_readable(dirs, caplog):
    shutil.copytree(FIXTURES / "keys", dirs.user / "keys")
    for key in (dirs.user / "keys").iterdir():
        key.chmod(0o600)
    put(dirs.user, "kf.toml", (FIXTURES / "keyfiles.toml").read_text(), 0o644)
    with caplog.at_level(logging.DEBUG, logger="wirecage"):
        profile = store.load_profile("kf")
    assert profile.interface.private_key.to_base64() == CLIENT_PRIVATE
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_format_is_sniffed_when_the_name_does_not_say(dirs, tmp_path):
    toml = tmp_path / "profile"
    toml.write_text(f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = "10.0.0.2"\n'
                    f'[[peer]]\npublic_key = "{SERVER_PUBLIC}"\n')  # fmt: skip
    toml.chmod(0o600)
    assert store.read_profile_file(toml)[0].format == "toml"
    conf = tmp_path / "other"
    conf.write_text(GOOD)
    conf.chmod(0o600)
    assert store.read_profile_file(conf)[0].format == "conf"


def test_store_module_does_not_import_cryptography():
    code = (
        "import sys\n"
        "from wirecage.profiles import store\n"
        "import wirecage.cli.profile_cmd\n"
        "store.list_names()\n"
        "print([m for m in sys.modules if m.startswith(('cryptography', 'wirecage.wg'))])\n"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        timeout=60,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_a_dangling_symlink_is_a_profile_that_cannot_be_read(dirs, tmp_path):
    # Say a link into a removable disk: the name must not silently mean /etc/wireguard's file.
    put(dirs.etc_wireguard, "work.conf")
    dirs.user.mkdir(parents=True)
    (dirs.user / "work.conf").symlink_to(tmp_path / "unplugged" / "work.conf")
    assert [(p.name, p.shadowed) for p in store.list_profiles()] == [
        ("work", False),
        ("work", True),
    ]
    assert store.find_profile("work") == dirs.user / "work.conf"
    with pytest.raises(ProfileError) as info:
        store.load_profile("work")
    assert info.value.message == (
        f"cannot read {dirs.user / 'work.conf'}: No such file or directory"
    )
    # It is the user's own, so it can be removed; nothing is written through it.
    with pytest.raises(ProfileError):
        store.write_profile("work", GOOD, "conf")
    assert store.remove_profile("work") == dirs.user / "work.conf"
    assert not os.path.lexists(dirs.user / "work.conf")


def test_rename_moves_a_symlinked_profile_as_a_symlink(dirs, tmp_path):
    real = put(tmp_path / "dotfiles", "work.conf")
    dirs.user.mkdir(parents=True)
    (dirs.user / "work.conf").symlink_to(real)
    target = store.rename_profile("work", "job")
    assert target.is_symlink() and os.readlink(target) == str(real)
    assert not os.path.lexists(dirs.user / "work.conf")
    assert real.read_text() == GOOD and stat.S_IMODE(real.stat().st_mode) == 0o600
    (dirs.user / "gone.conf").symlink_to(tmp_path / "nothing")
    assert store.rename_profile("gone", "still-gone").is_symlink()


# --- what the operating system refuses -----------------------------------------------------------


def test_a_file_where_the_profile_directory_belongs_is_a_profile_error(dirs):
    # Root-proof triggers (permission bits do not stop root): a regular file in the way.
    dirs.user.parent.mkdir(parents=True)
    dirs.user.write_text("not a directory")
    with pytest.raises(ProfileError, match="cannot create the profile directory") as info:
        store.write_profile("work", GOOD, "conf")
    assert str(dirs.user) in info.value.message and "move it away" in (info.value.hint or "")
    dirs.user.unlink()
    dirs.user.parent.rmdir()
    dirs.user.parent.write_text("not a directory either")
    with pytest.raises(ProfileError, match="Not a directory"):
        store.write_profile("work", GOOD, "conf")


def test_a_directory_named_like_the_profile_is_a_profile_error(dirs):
    (dirs.user / "dirp.conf").mkdir(parents=True)
    with pytest.raises(ProfileError, match="already exists"):
        store.write_profile("dirp", GOOD, "conf")
    with pytest.raises(ProfileError, match=r"cannot write .*dirp.conf: Is a directory") as info:
        store.write_profile("dirp", GOOD, "conf", overwrite=True)
    assert "is a directory" in (info.value.hint or "")
    assert [p.name for p in dirs.user.iterdir()] == ["dirp.conf"]  # no temporary left


@pytest.mark.parametrize("call", ["remove", "rename", "replace"])
def test_failures_to_remove_rename_or_replace_are_profile_errors(dirs, monkeypatch, call):
    path = store.write_profile("work", GOOD, "conf")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    if call == "remove":
        monkeypatch.setattr(store.Path, "unlink", refuse)
        action = lambda: store.remove_profile("work")  # noqa: E731
    elif call == "rename":
        monkeypatch.setattr(store.os, "link", refuse)
        action = lambda: store.rename_profile("work", "job")  # noqa: E731
    else:
        monkeypatch.setattr(store.os, "replace", refuse)
        action = lambda: store.replace_profile_file(path, "new")  # noqa: E731
    with pytest.raises(ProfileError, match="Permission denied") as info:
        action()
    assert str(path) in info.value.message and "permissions" in (info.value.hint or "")
    assert path.read_text() == GOOD


def test_a_dangling_symlink_is_an_existing_profile_in_either_format(dirs):
    dirs.user.mkdir(parents=True)
    (dirs.user / "dang.conf").symlink_to(dirs.user / "nowhere.conf")
    with pytest.raises(ProfileError, match="already exists"):
        store.write_profile("dang", GOOD, "toml")
    store.write_profile("work", GOOD, "toml")
    with pytest.raises(ProfileError, match="already exists") as info:
        store.rename_profile("work", "dang")
    assert "--force" not in (info.value.hint or "")  # rename has no --force
    assert sorted(p.name for p in dirs.user.iterdir()) == ["dang.conf", "work.toml"]


@pytest.mark.parametrize("name", ["corp.conf", "corp.toml", "a.b.conf"])
def test_a_name_ending_in_conf_or_toml_is_refused(dirs, name):
    with pytest.raises(ProfileError, match="not a valid profile name") as info:
        store.write_profile(name, GOOD, "conf")
    assert "read as a path" in (info.value.hint or "")
    assert not dirs.user.exists() or not list(dirs.user.iterdir())


def test_only_a_regular_file_of_a_sane_size_is_read(dirs, tmp_path):
    big = tmp_path / "big.conf"
    with open(big, "wb") as f:
        f.truncate(store.MAX_PROFILE_BYTES + 1)
    with pytest.raises(ProfileError, match="too large for a profile"):
        store.read_profile_file(big)
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)  # no writer: opening it must not wait for one
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(ProfileError, match="cannot read") as info:
            store.read_profile_file(path)
        assert "regular file" in (info.value.hint or "")


def test_check_notes_the_ignored_keys_at_normal_level(dirs, caplog):
    path = FIXTURES / "provider.conf"
    profile, warnings = store.read_profile_file(path)
    with caplog.at_level(logging.DEBUG, logger="wirecage"):
        store.report(profile, [], notice_ignored=True)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            f"note: {path}: ignoring PostUp, PreDown, Table "
            "(host routing and firewall settings; a cage needs none)",
        )
    ]
