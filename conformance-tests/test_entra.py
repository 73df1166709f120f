"""Microsoft Entra ID automatic provisioning, as the Entra service sends it."""

import uuid

from conftest import ENTERPRISE_URN, GROUP_URN, PATCH_URN, USER_URN, gone, scim, unique, written


def entra_user(upn, external_id=None):
    return {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": external_id or str(uuid.uuid4()),
        "userName": upn,
        "active": True,
        "displayName": "Omar Haddad",
        "title": "Analyst",
        "emails": [{"primary": True, "type": "work", "value": upn}],
        "name": {"formatted": "Omar Haddad", "familyName": "Haddad", "givenName": "Omar"},
        "addresses": [{"type": "work", "formatted": "1 Harbour Rd, Dublin", "primary": True}],
        ENTERPRISE_URN: {"department": "Finance", "organization": "Contoso"},
    }


def patch(server, path, *ops):
    body = {"schemas": [PATCH_URN], "Operations": list(ops)}
    return server.session.patch(server.url(path), json=body)


def test_connection_with_a_random_guid(server):
    guid = str(uuid.uuid4())
    body = scim(server.session.get(server.url("/Users"), params={"filter": f'userName eq "{guid}"'}), 200)
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_create_after_lookup_with_enterprise_extension(server):
    s = server.session
    upn = f"{unique('omar')}@contoso.example"
    assert scim(s.get(server.url("/Users"), params={"filter": f'userName eq "{upn}"'}), 200)["totalResults"] == 0
    created = written(server, s.post(server.url("/Users"), json=entra_user(upn)), 201)
    assert created["meta"]["location"] == server.url(f"/Users/{created['id']}")
    assert created[ENTERPRISE_URN]["department"] == "Finance"
    card = server.member_card(created["id"])
    assert card["company"] == "Contoso" and card["department"] == "Finance"
    assert card["location"] == "1 Harbour Rd, Dublin"
    by_external = scim(s.get(server.url("/Users"), params={"filter": f'externalId eq "{created["externalId"]}"'}), 200)
    assert [u["id"] for u in by_external["Resources"]] == [created["id"]]


def test_updates_with_entra_shaped_patches(server):
    s = server.session
    created = written(server, s.post(server.url("/Users"), json=entra_user(f"{unique('upd')}@contoso.example")), 201)
    path = f"/Users/{created['id']}"
    patched = written(server, patch(
        server, path,
        {"op": "Replace", "path": "title", "value": "Senior Analyst"},
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+353 1 000 0000"},
        {"op": "Replace", "path": f"{ENTERPRISE_URN}:department", "value": "Treasury"},
        {"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": "manager-object-id"},
        {"op": "Replace", "value": {"name.givenName": "Omer", "displayName": "Omer Haddad"}},
    ), 200)
    assert patched["title"] == "Senior Analyst"
    assert {"type": "work", "value": "+353 1 000 0000"} in patched["phoneNumbers"]
    assert patched[ENTERPRISE_URN]["department"] == "Treasury"
    assert patched[ENTERPRISE_URN]["manager"]["value"] == "manager-object-id"
    assert patched["name"]["givenName"] == "Omer"
    card = server.member_card(created["id"])
    assert card["jobTitle"] == "Senior Analyst" and card["phone"] == "+353 1 000 0000"
    assert card["department"] == "Treasury" and card["name"] == "Omer Haddad"
    removed = written(server, patch(server, path, {"op": "Remove", "path": f"{ENTERPRISE_URN}:manager"}), 200)
    assert "manager" not in removed.get(ENTERPRISE_URN, {})
    assert removed[ENTERPRISE_URN]["department"] == "Treasury", "only the manager is removed"


def test_disable_with_string_boolean_then_delete(server):
    s = server.session
    created = written(server, s.post(server.url("/Users"), json=entra_user(f"{unique('dis')}@contoso.example")), 201)
    path = f"/Users/{created['id']}"
    disabled = written(server, patch(server, path, {"op": "Replace", "path": "active", "value": "False"}), 200)
    assert disabled["active"] is False
    scim(s.delete(server.url(path)), 204)
    gone(server, path)


def test_groups_as_entra_manages_them(server):
    s = server.session
    users = [written(server, s.post(server.url("/Users"), json=entra_user(f"{unique('m')}@contoso.example")),
                     201)["id"] for _ in range(3)]
    name, external = unique("Finance Team"), str(uuid.uuid4())
    group = written(server, s.post(server.url("/Groups"), json={
        "schemas": [GROUP_URN], "displayName": name, "externalId": external, "members": []}), 201)
    assert group.get("members", []) == []
    path = f"/Groups/{group['id']}"
    for filter_ in (f'displayName eq "{name}"', f'externalId eq "{external}"'):
        found = scim(s.get(server.url("/Groups"), params={"filter": filter_, "excludedAttributes": "members"}), 200)
        assert [g["id"] for g in found["Resources"]] == [group["id"]]
        assert "members" not in found["Resources"][0]
    added = written(server, patch(server, path, {"op": "Add", "path": "members",
                                                 "value": [{"value": u} for u in users]}), 200)
    assert sorted(m["value"] for m in added["members"]) == sorted(users)
    removed = written(server, patch(server, path, {"op": "Remove", "path": "members",
                                                   "value": [{"value": users[0]}]}), 200)
    assert sorted(m["value"] for m in removed["members"]) == sorted(users[1:])
    renamed = unique("Finance & Treasury")
    replaced = written(server, patch(server, path, {"op": "Replace", "path": "displayName", "value": renamed}), 200)
    assert replaced["displayName"] == renamed
    assert sorted(m["value"] for m in replaced["members"]) == sorted(users[1:]), "members kept"
    assert scim(s.get(server.url(path), params={"excludedAttributes": "members"}), 200)["displayName"] == renamed
    scim(s.delete(server.url(path)), 204)
    gone(server, path)


def test_throttled_sync_backs_off_on_retry_after(throttled_server):
    """Entra retries a 429 after Retry-After; a client doing so loses nothing."""
    import time

    server = throttled_server
    s = server.session
    throttled, created = 0, []
    for i in range(12):
        body = entra_user(f"{unique(f'burst{i}')}@contoso.example")
        while True:
            response = s.post(server.url("/Users"), json=body)
            if response.status_code != 429:
                break
            throttled += 1
            error = scim(response, 429)
            assert error["status"] == "429"
            time.sleep(int(response.headers["Retry-After"]))
        # No GET after each create here: it would only spend the 5 requests per second.
        created.append(written(server, response, 201, fetch=False)["id"])
    assert throttled > 0, "12 requests at once exceed 5 per second"
    time.sleep(1)
    listed = scim(s.get(server.url("/Users"), params={"filter": 'userName sw "burst"', "count": 50}), 200)
    assert sorted(u["id"] for u in listed["Resources"]) == sorted(created)
