"""Okta's SCIM 2.0 provisioning connector, step by step as Okta sends it."""

import uuid

from conftest import GROUP_URN, LIST_URN, PATCH_URN, USER_URN, scim, unique


def okta_user(user_name, given="Ann", family="Lee", title="Engineer"):
    # The body Okta POSTs for "Push New Users" (with "Sync password" on).
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": f"00u{uuid.uuid4().hex[:17]}",
        "groups": [],
        "password": "Okta-generated-1!",
        "title": title,
        "active": True,
    }


def test_connector_configuration(server):
    s = server.session
    for endpoint in ("Users", "Groups"):
        body = scim(s.get(server.url(f"/{endpoint}"), params={"startIndex": 1, "count": 1}), 200)
        assert body["schemas"] == [LIST_URN]
        assert "totalResults" in body and body["startIndex"] == 1
    random_user = f"{uuid.uuid4()}@example.com"
    body = scim(s.get(server.url("/Users"), params={"filter": f'userName eq "{random_user}"'}), 200)
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_create_looks_up_then_posts_and_the_card_follows(server):
    s = server.session
    user_name = f"{unique('ann')}@example.com"
    lookup = scim(s.get(server.url("/Users"), params={"filter": f'userName eq "{user_name}"'}), 200)
    assert lookup["totalResults"] == 0
    # Okta sends application/json bodies.
    created = scim(s.post(server.url("/Users"), json=okta_user(user_name)), 201)
    assert "password" not in created
    fetched = scim(s.get(server.url(f"/Users/{created['id']}")), 200)
    assert fetched["userName"] == user_name and fetched["locale"] == "en-US"
    card = server.member_card(created["id"])
    assert card["name"] == "Ann Lee"
    assert card["email"] == user_name
    assert card["jobTitle"] == "Engineer"
    # Okta retries a create it believes failed: the second POST must not make a second member.
    duplicate = scim(s.post(server.url("/Users"), json=okta_user(user_name)), 409)
    assert duplicate["scimType"] == "uniqueness"
    again = scim(s.get(server.url("/Users"), params={"filter": f'userName eq "{user_name}"'}), 200)
    assert again["totalResults"] == 1


def test_import_pages_through_every_user(server):
    s = server.session
    made = {scim(s.post(server.url("/Users"), json=okta_user(f"{unique('imp')}@example.com")), 201)["id"]
            for _ in range(5)}
    seen, start = [], 1
    while True:
        page = scim(s.get(server.url("/Users"), params={"startIndex": start, "count": 2}), 200)
        if not page["Resources"]:
            break
        seen += [u["id"] for u in page["Resources"]]
        start += len(page["Resources"])
    assert len(seen) == len(set(seen)), "no user twice"
    assert made <= set(seen)
    assert len(seen) == page["totalResults"]


def test_profile_push_is_a_full_put(server):
    s = server.session
    user_name = f"{unique('put')}@example.com"
    created = scim(s.post(server.url("/Users"), json=okta_user(user_name)), 201)
    update = okta_user(user_name, given="Anna", title="Staff Engineer")
    update["id"] = created["id"]
    del update["password"]
    replaced = scim(s.put(server.url(f"/Users/{created['id']}"), json=update), 200)
    assert replaced["name"]["givenName"] == "Anna" and replaced["title"] == "Staff Engineer"
    assert scim(s.get(server.url(f"/Users/{created['id']}")), 200) == replaced
    assert server.member_card(created["id"])["jobTitle"] == "Staff Engineer"


def test_deactivate_and_reactivate_by_patch_without_path(server):
    s = server.session
    created = scim(s.post(server.url("/Users"), json=okta_user(f"{unique('deact')}@example.com")), 201)
    url = server.url(f"/Users/{created['id']}")
    for active in (False, True):
        body = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": active}}]}
        patched = scim(s.patch(url, json=body), 200)
        assert patched["active"] is active
        assert scim(s.get(url), 200)["active"] is active


def test_push_groups_life_cycle(server):
    s = server.session
    a = scim(s.post(server.url("/Users"), json=okta_user(f"{unique('ga')}@example.com")), 201)["id"]
    b = scim(s.post(server.url("/Users"), json=okta_user(f"{unique('gb')}@example.com")), 201)["id"]
    name = unique("Engineering")
    lookup = scim(s.get(server.url("/Groups"), params={"filter": f'displayName eq "{name}"'}), 200)
    assert lookup["totalResults"] == 0
    group = scim(s.post(server.url("/Groups"), json={
        "schemas": [GROUP_URN], "displayName": name, "members": [{"value": a, "display": "a"}]}), 201)
    url = server.url(f"/Groups/{group['id']}")

    def members():
        return sorted(m["value"] for m in scim(s.get(url), 200).get("members", []))

    patch = lambda ops: s.patch(url, json={"schemas": [PATCH_URN], "Operations": ops})  # noqa: E731
    scim(patch([{"op": "add", "path": "members", "value": [{"value": b, "display": "b"}]}]), 200)
    assert members() == sorted([a, b])
    scim(patch([{"op": "remove", "path": f'members[value eq "{a}"]'}]), 200)
    assert members() == [b]
    renamed = unique("Platform")
    scim(patch([{"op": "replace", "value": {"id": group["id"], "displayName": renamed}}]), 200)
    assert scim(s.get(url), 200)["displayName"] == renamed
    found = scim(s.get(server.url("/Groups"), params={"filter": f'displayName eq "{renamed}"'}), 200)
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    scim(s.delete(url), 204)
    scim(s.get(url), 404)
    assert scim(s.get(server.url(f"/Users/{b}")), 200)["userName"].startswith("gb-"), "members stay"


def test_scim_json_bodies_are_accepted_too(server):
    s = server.session
    import json

    body = json.dumps(okta_user(f"{unique('ct')}@example.com"))
    response = s.post(server.url("/Users"), data=body, headers={"Content-Type": "application/scim+json"})
    scim(response, 201)
