"""The scripts in examples/ replay a client's life cycle: they must run clean on a fresh
server and leave the state they say they leave; an HTTP error must stop them."""

import json
import os
import re
import subprocess

import pytest

from conftest import PREFIX, ROOT, gone, running, scim

EXAMPLES = ROOT / "examples"


@pytest.fixture
def fresh_server():
    yield from running("sqlite")


def run_example(name, server, token=None):
    return subprocess.run(
        ["bash", str(EXAMPLES / name), f"{server.base}{PREFIX}"],
        env=dict(os.environ, TOKEN=token or server.token),
        capture_output=True, text=True, timeout=120,
    )


def calls(result):
    """The requests the script made, as (method, path), from its `>>>` lines."""
    return re.findall(r"^>>> (\S+) (\S+)$", result.stderr, flags=re.M)


def documents(stdout):
    """The JSON bodies the script printed (curl writes them back to back)."""
    decoder, docs, i = json.JSONDecoder(), [], 0
    while i < len(stdout):
        if stdout[i].isspace():
            i += 1
            continue
        doc, i = decoder.raw_decode(stdout, i)
        docs.append(doc)
    return docs


def listed(server, endpoint):
    return scim(server.session.get(server.url(f"/{endpoint}")), 200)


def test_okta_example(fresh_server):
    server = fresh_server
    result = run_example("okta.sh", server)
    assert result.returncode == 0, result.stderr
    made = calls(result)
    assert [method for method, _ in made] == [
        "GET", "GET", "GET", "POST", "PUT", "POST", "PATCH", "PATCH", "DELETE", "GET"], made
    user_id = made[4][1].removeprefix("/Users/")
    group_id = made[6][1].removeprefix("/Groups/")
    assert made[-1] == ("GET", f"/Users/{user_id}")
    # It ends deactivated, with the PUT's title, and its group deleted.
    users = listed(server, "Users")
    assert users["totalResults"] == 1, users
    user = users["Resources"][0]
    assert user["id"] == user_id
    assert re.fullmatch(r"ann\.\d+@example\.com", user["userName"]), user
    assert user["active"] is False
    assert user["title"] == "Engineering Manager"
    assert user["name"] == {"givenName": "Ann", "familyName": "Lee"}
    assert documents(result.stdout)[-1] == scim(server.session.get(server.url(f"/Users/{user_id}")), 200)
    assert listed(server, "Groups")["totalResults"] == 0
    gone(server, f"/Groups/{group_id}")


def test_entra_example(fresh_server):
    server = fresh_server
    result = run_example("entra.sh", server)
    assert result.returncode == 0, result.stderr
    made = calls(result)
    assert [method for method, _ in made] == [
        "GET", "GET", "POST", "PATCH", "POST", "GET", "PATCH", "PATCH", "DELETE", "GET"], made
    user_id = made[3][1].removeprefix("/Users/")
    group_id = made[6][1].removeprefix("/Groups/")
    assert made[-1] == ("GET", f"/Groups/{group_id}")
    docs = documents(result.stdout)
    updated, disabled = [d for d in docs if d.get("id") == user_id]
    assert updated["title"] == "Analyst" and updated["active"] is True
    assert disabled["active"] is False
    # It ends with the user deleted and out of the group, which stays.
    gone(server, f"/Users/{user_id}")
    assert listed(server, "Users")["totalResults"] == 0
    groups = listed(server, "Groups")
    assert [g["id"] for g in groups["Resources"]] == [group_id]
    group = scim(server.session.get(server.url(f"/Groups/{group_id}")), 200)
    assert re.fullmatch(r"Finance [0-9a-f]{8}", group["displayName"]), group
    assert group["displayName"].removeprefix("Finance ") == group["externalId"][:8]
    assert group.get("members", []) == []
    assert docs[-1] == group


@pytest.mark.parametrize("script", ["okta.sh", "entra.sh"])
def test_an_http_error_stops_the_example(fresh_server, script):
    result = run_example(script, fresh_server, token="scimd_notarealtoken_" + "x" * 40)
    assert result.returncode != 0
    assert len(calls(result)) == 1, "it stops at the first request, refused with 401"
    assert "401" in result.stderr, result.stderr
    assert listed(fresh_server, "Users")["totalResults"] == 0
