"""The Profile model: immutable values, compared by what the tunnel is, that never print a
secret (repr, str, format, an exception carrying one) while the public keys stay visible."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from profiles.keys import CLIENT_PRIVATE, CLIENT_PUBLIC, PEER1_PUBLIC, PSK
from wirecage.profiles.conf import read_conf
from wirecage.profiles.validate import decode_text

FIXTURES = Path(__file__).parent / "fixtures"


def provider():
    path = FIXTURES / "provider.conf"
    profile, _ = read_conf(decode_text(path.read_bytes(), str(path)), source=str(path))
    return profile


def renderings(value) -> list[str]:
    return [repr(value), str(value), f"{value}", f"{value!r}", format(value, "")]


def secret_forms(b64: str) -> list[str]:
    raw = base64.b64decode(b64)
    return [b64, b64[:16], raw.hex(), repr(raw)[2:20]]


def test_no_secret_in_any_rendering_of_the_model():
    profile = provider()
    iface = profile.interface
    psk = profile.peers[0].preshared_key
    values = [profile, iface, iface.private_key, *profile.peers, psk, (profile, [iface])]
    texts = [text for value in values for text in renderings(value)]
    texts.append(str(ValueError(iface.private_key, psk)))
    for text in texts:
        for secret in (*secret_forms(CLIENT_PRIVATE), *secret_forms(PSK)):
            assert secret not in text, text
    assert repr(iface.private_key) == "PrivateKey(<redacted>)"
    assert f"{psk}" == "PresharedKey(<redacted>)" and format(psk, "") == "PresharedKey(<redacted>)"


def test_public_keys_print_whole_in_str_and_abbreviated_in_repr():
    profile = provider()
    assert str(profile.interface.public_key) == CLIENT_PUBLIC
    assert (
        repr(profile.peers[0].public_key) == f"PublicKey({PEER1_PUBLIC[:4]}…{PEER1_PUBLIC[-5:-1]})"
    )
    assert PEER1_PUBLIC not in repr(profile)


def test_values_are_immutable_and_replace_gives_a_changed_copy():
    profile = provider()
    with pytest.raises(AttributeError):
        profile.interface.mtu = 1280  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del profile.peers[0].endpoint  # type: ignore[misc]
    lower = profile.replace(interface=profile.interface.replace(mtu=1280))
    assert lower.interface.mtu == 1280 and profile.interface.mtu == 1420
    assert lower != profile
    with pytest.raises(TypeError):
        profile.replace(colour="blue")


def test_where_a_profile_came_from_is_not_what_it_is():
    profile = provider()
    elsewhere = profile.replace(name="work", path=Path("/x.toml"), format="toml", ignored=())
    assert elsewhere == profile and hash(elsewhere) == hash(profile)


def test_secret_keys_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(provider().interface.private_key)
