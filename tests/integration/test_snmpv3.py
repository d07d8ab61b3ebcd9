"""SNMPv3 USM against a real snmpsim: every auth/priv protocol we offer, and clear errors on bad keys.

snmpsim selects the recording by SNMPv3 context name (= file stem), so one
process serves all users. Privacy needs the ``cryptography`` package.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from agent.probes import interfaces
from agent.simulator import Snmpsim
from agent.snmp import Credentials, SnmpAuthError, SnmpSession, new_engine
from agent.snmprec import Recording

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "librenms"
STEM = "edgeswitch_us-8"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
AUTH_KEY = "authkey-0123"
PRIV_KEY = "privkey-4567"

#: (user, snmpsim auth proto, snmpsim priv proto, our auth name, our priv name)
USERS = [
    ("u_md5", "MD5", None, "md5", "none"),
    ("u_sha", "SHA", None, "sha", "none"),
    ("u_sha224", "SHA224", None, "sha224", "none"),
    ("u_sha256", "SHA256", None, "sha256", "none"),
    ("u_sha384", "SHA384", None, "sha384", "none"),
    ("u_sha512", "SHA512", None, "sha512", "none"),
    ("u_md5_des", "MD5", "DES", "md5", "des"),
    ("u_sha_aes128", "SHA", "AES128", "sha", "aes128"),
    ("u_sha256_aes192", "SHA256", "AES192", "sha256", "aes192"),
    ("u_sha512_aes256", "SHA512", "AES256", "sha512", "aes256"),
]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Snmpsim:
    src = CORPUS / f"{STEM}.snmprec"
    data = tmp_path_factory.mktemp("v3data")
    if src.exists():  # a copy, not a symlink: snmpsim derives the community from the resolved path
        shutil.copyfile(src, data / src.name)
    else:  # no corpus: a two-line recording is enough to prove the security layer
        (data / src.name).write_text("1.3.6.1.2.1.1.3.0|67|100\n1.3.6.1.2.1.1.5.0|4|edge\n1.3.6.1.2.1.2.2.1.8.1|2|1\n")
    users = []
    for user, auth, priv, _, _ in USERS:
        entry = {"user": user, "auth_key": AUTH_KEY, "auth_proto": auth}
        if priv:
            entry |= {"priv_key": PRIV_KEY, "priv_proto": priv}
        users.append(entry)
    s = Snmpsim(data, v3_users=users)
    s.start(wait_community=STEM)
    yield s
    s.stop()


def session(sim: Snmpsim, **kw: str) -> SnmpSession:
    creds = Credentials(version="3", context=STEM, **kw)  # type: ignore[arg-type]
    return SnmpSession(new_engine(), sim.host, sim.port, creds, timeout=2, retries=0)


@pytest.mark.parametrize(
    ("user", "auth", "priv"),
    [pytest.param(u, a, p, id=f"{a}-{p}") for u, _, _, a, p in USERS],
)
def test_every_protocol_combination_reads(sim: Snmpsim, user: str, auth: str, priv: str) -> None:
    kw = {"user": user, "auth_protocol": auth, "auth_key": AUTH_KEY}
    if priv != "none":
        kw |= {"priv_protocol": priv, "priv_key": PRIV_KEY}
    got = asyncio.run(session(sim, **kw).get([SYS_NAME]))
    assert isinstance(got[SYS_NAME], bytes)
    assert got[SYS_NAME]


def test_authpriv_table_walk_with_getbulk(sim: Snmpsim) -> None:
    s = session(
        sim,
        user="u_sha512_aes256",
        auth_protocol="sha512",
        auth_key=AUTH_KEY,
        priv_protocol="aes256",
        priv_key=PRIV_KEY,
    )
    columns = asyncio.run(s.walk_columns(interfaces.FETCH.columns))
    ports = interfaces.parse(interfaces.Fetched(columns=columns))
    assert ports
    src = CORPUS / f"{STEM}.snmprec"
    if src.exists():  # the same rows as reading the file offline: nothing lost under authPriv
        assert ports == interfaces.parse(Recording.load(src).fetch(interfaces.FETCH))


@pytest.mark.parametrize(
    ("kw", "problem"),
    [
        pytest.param(
            {"user": "u_sha", "auth_protocol": "sha", "auth_key": "not-the-key"},
            "wrong authentication key or protocol",
            id="wrong-auth-key",
        ),
        pytest.param(
            {"user": "u_sha", "auth_protocol": "md5", "auth_key": AUTH_KEY},
            "wrong authentication key or protocol",
            id="wrong-auth-protocol",
        ),
        pytest.param(
            {
                "user": "u_sha_aes128",
                "auth_protocol": "sha",
                "auth_key": AUTH_KEY,
                "priv_protocol": "aes128",
                "priv_key": "not-the-key",
            },
            "wrong privacy key or protocol",
            id="wrong-priv-key",
        ),
        pytest.param(
            {
                "user": "u_md5_des",
                "auth_protocol": "md5",
                "auth_key": AUTH_KEY,
                "priv_protocol": "aes",
                "priv_key": PRIV_KEY,
            },
            "wrong privacy key or protocol",
            id="wrong-priv-protocol",
        ),
        pytest.param(
            {"user": "nobody", "auth_protocol": "sha", "auth_key": AUTH_KEY}, "unknown user", id="unknown-user"
        ),
        pytest.param(
            {"user": "u_md5_des", "auth_protocol": "md5", "auth_key": AUTH_KEY},
            "security level does not match",
            id="authNoPriv-for-authPriv-user",
        ),
    ],
)
def test_bad_credentials_name_device_and_problem(sim: Snmpsim, kw: dict[str, str], problem: str) -> None:
    s = session(sim, **kw)
    with pytest.raises(SnmpAuthError) as info:
        asyncio.run(s.get([SYS_NAME]))
    message = str(info.value)
    assert f"{sim.host}:{sim.port}" in message
    assert repr(kw["user"]) in message
    assert problem in message
    assert kw["auth_key"] not in message  # never echo secrets
