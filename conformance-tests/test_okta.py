"""Okta's SCIM 2.0 provisioning connector, step by step as Okta sends it."""

import collections
import uuid

from conftest import GROUP_URN, LIST_URN, PATCH_URN, USER_URN, gone, scim, unique, written


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
    created = written(server, s.post(server.url("/Users"), json=okta_user(user_name)), 201)
    assert "password" not in created
    assert created["meta"]["location"] == server.url(f"/Users/{created['id']}")
    assert created["userName"] == user_name and created["locale"] == "en-US"
    card = server.member_card(created["id"])
    assert card["name"] == "Ann Lee"
    assert card["email"] == user_name
    assert card["jobTitle"] == "Engineer"
    # Okta retries a create it believes failed: the second POST must not make a second member.
    duplicate = scim(s.post(server.url("/Users"), json=okta_user(user_name)), 409)
    assert duplicate["scimType"] == "uniqueness"
    again = scim(s.get(server.url("/Users"), params={"filter": f'userName eq "{user_name}"'}), 200)
    assert again["totalResults"] == 1


def page_through(server, endpoint, count=2):
    """Okta's import: startIndex/count pages until one comes back empty. Returns every id seen."""
    s = server.session
    seen, start, total = [], 1, None
    for _ in range(1000):
        page = scim(s.get(server.url(f"/{endpoint}"), params={"startIndex": start, "count": count}), 200)
        assert page["schemas"] == [LIST_URN]
        total = page["totalResults"] if total is None else total
        assert page["totalResults"] == total, "totalResults is the same on every page"
        assert page["startIndex"] == start
        resources = page["Resources"]
        assert page["itemsPerPage"] == len(resources)
        assert len(resources) == max(0, min(count, total - start + 1)), "full pages until the last"
        if not resources:
            break
        seen += [r["id"] for r in resources]
        start += len(resources)
    else:
        raise AssertionError("paging never ended")
    assert len(seen) == total, "the pages hold exactly totalResults resources"
    return seen


def test_import_pages_through_every_user(server):
    s = server.session
    made = {written(server, s.post(server.url("/Users"), json=okta_user(f"{unique('imp')}@example.com")),
                    201)["id"] for _ in range(5)}
    seen = page_through(server, "Users")
    assert len(seen) == len(set(seen)), "no user twice"
    assert made <= set(seen)


def test_import_pages_through_every_group(server):
    s = server.session
    member = written(server, s.post(server.url("/Users"), json=okta_user(f"{unique('gm')}@example.com")),
                     201)["id"]
    made = [written(server, s.post(server.url("/Groups"), json={
        "schemas": [GROUP_URN], "displayName": unique(f"Import {i}"), "members": [{"value": member}]}),
        201)["id"] for i in range(5)]
    seen = page_through(server, "Groups")
    counts = collections.Counter(seen)
    assert all(counts[g] == 1 for g in made), f"every group created seen exactly once: {counts}"
    assert len(counts) == len(seen), "no group twice"


def test_profile_push_is_a_full_put(server):
    s = server.session
    user_name = f"{unique('put')}@example.com"
    created = written(server, s.post(server.url("/Users"), json=okta_user(user_name)), 201)
    update = okta_user(user_name, given="Anna", title="Staff Engineer")
    update["id"] = created["id"]
    del update["password"]
    replaced = written(server, s.put(server.url(f"/Users/{created['id']}"), json=update), 200)
    assert replaced["name"]["givenName"] == "Anna" and replaced["title"] == "Staff Engineer"
    assert replaced["meta"]["version"] != created["meta"]["version"], "a change is a new version"
    assert server.member_card(created["id"])["jobTitle"] == "Staff Engineer"


def test_deactivate_and_reactivate_by_patch_without_path(server):
    s = server.session
    created = written(server, s.post(server.url("/Users"), json=okta_user(f"{unique('deact')}@example.com")), 201)
    url = server.url(f"/Users/{created['id']}")
    for active in (False, True):
        body = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": active}}]}
        patched = written(server, s.patch(url, json=body), 200)
        assert patched["active"] is active


def test_push_groups_life_cycle(server):
    s = server.session
    a = written(server, s.post(server.url("/Users"), json=okta_user(f"{unique('ga')}@example.com")), 201)["id"]
    b = written(server, s.post(server.url("/Users"), json=okta_user(f"{unique('gb')}@example.com")), 201)["id"]
    name = unique("Engineering")
    lookup = scim(s.get(server.url("/Groups"), params={"filter": f'displayName eq "{name}"'}), 200)
    assert lookup["totalResults"] == 0
    group = written(server, s.post(server.url("/Groups"), json={
        "schemas": [GROUP_URN], "displayName": name, "members": [{"value": a, "display": "a"}]}), 201)
    assert [m["value"] for m in group["members"]] == [a]
    url = server.url(f"/Groups/{group['id']}")

    def patch(ops):
        # `written` GETs the group after each PATCH and asserts it matches the answer.
        return written(server, s.patch(url, json={"schemas": [PATCH_URN], "Operations": ops}), 200)

    def members(body):
        return sorted(m["value"] for m in body.get("members", []))

    assert members(patch([{"op": "add", "path": "members", "value": [{"value": b, "display": "b"}]}])) \
        == sorted([a, b])
    assert members(patch([{"op": "remove", "path": f'members[value eq "{a}"]'}])) == [b]
    renamed = unique("Platform")
    assert patch([{"op": "replace", "value": {"id": group["id"], "displayName": renamed}}])["displayName"] \
        == renamed
    found = scim(s.get(server.url("/Groups"), params={"filter": f'displayName eq "{renamed}"'}), 200)
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    scim(s.delete(url), 204)
    gone(server, url)
    assert scim(s.get(server.url(f"/Users/{b}")), 200)["userName"].startswith("gb-"), "members stay"


def test_scim_json_bodies_are_accepted_too(server):
    s = server.session
    import json

    user_name = f"{unique('ct')}@example.com"
    body = json.dumps(okta_user(user_name, given="Cleo", title="Designer"))
    response = s.post(server.url("/Users"), data=body, headers={"Content-Type": "application/scim+json"})
    created = written(server, response, 201)
    assert created["userName"] == user_name and created["title"] == "Designer"
    assert created["name"] == {"givenName": "Cleo", "familyName": "Lee"}
    assert server.member_card(created["id"])["name"] == "Cleo Lee"
