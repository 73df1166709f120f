"""A Pingboard-style client: the /v2 prefix, a pasted bearer token, full names."""

from conftest import USER_URN, gone, scim, unique, written

V2 = "/api/external/scim/v2"


def test_same_tenant_reached_under_v2(server):
    s = server.session
    user_name = f"{unique('pb')}@example.com"
    body = {"schemas": [USER_URN], "userName": user_name,
            "name": {"givenName": "Priya", "familyName": "Bose"},
            "emails": [{"value": user_name, "type": "work", "primary": True}]}
    created = written(server, s.post(server.url("/Users", prefix=V2), json=body), 201)
    assert created["meta"]["location"] == server.url(f"/Users/{created['id']}", prefix=V2)
    # The same user through either prefix.
    assert scim(s.get(server.url(f"/Users/{created['id']}")), 200)["userName"] == user_name
    listed = scim(s.get(server.url("/Users", prefix=V2), params={"filter": f'userName eq "{user_name}"'}), 200)
    assert listed["totalResults"] == 1
    assert server.member_card(created["id"])["name"] == "Priya Bose"
    scim(s.delete(server.url(f"/Users/{created['id']}", prefix=V2)), 204)
    gone(server, server.url(f"/Users/{created['id']}", prefix=V2))
    gone(server, f"/Users/{created['id']}")


def test_a_missing_or_foreign_token_is_refused(server):
    import requests

    response = requests.get(server.url("/Users", prefix=V2))
    error = scim(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error["status"] == "401"
