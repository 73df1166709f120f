"""Okta's "SCIM 2.0 Spec Test" (the Runscope suite an OIN submission runs), step by step.

The steps follow Okta's published sequence (Okta-SCIM-20-SPEC-Test.json): the paged list
Okta reads its first user from, that user by id, an unknown userName and id, a create with
realistic values, its read-back, the re-create that must conflict, the userName case check,
the Groups list, 401 and 404 answers. Issue 15 adds what Okta's checks around it send: the
discovery documents, a create with no Content-Type header at all and a bare value as
`filter`.

Okta's response-time bounds (under 400 ms for the discovery requests and the unknown
userName filter, under 600 ms for the others) are asserted when the suite runs the release
binary and printed otherwise: a debug build is not what Okta would measure. Set
SCIMD_RESPONSE_TIMES=assert or =report to choose explicitly.
"""

import json
import os
import pathlib
import time
import uuid

import pytest

from conftest import BINARY, LIST_URN, USER_URN, scim, unique

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

# The headers Runscope sends on Okta's read requests.
OKTA_HEADERS = {
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "OKTA SCIM Integration",
}

FAST_MS = 400  # discovery and the unknown-userName filter
SLOW_MS = 600  # everything else


def times_asserted():
    choice = os.environ.get("SCIMD_RESPONSE_TIMES", "").strip().lower()
    if choice in ("assert", "report"):
        return choice == "assert"
    return "release" in pathlib.Path(BINARY).parts


ASSERT_TIMES = times_asserted()


class SpecRun:
    """One run of the sequence against one server: its clock and the values it made up."""

    def __init__(self, server):
        self.server = server
        self.backend = "postgres" if server.database_url.startswith("postgres") else "sqlite"
        self.timings = []
        self.given, self.family = "Rowan", unique("Okta")
        self.user_name = f"{unique('rowan')}@example.com"
        self.email = f"{unique('rowan.work')}@example.com"

    def timed(self, label, bound_ms, send):
        started = time.perf_counter()
        response = send()
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.timings.append((label, elapsed_ms, bound_ms))
        if ASSERT_TIMES:
            assert elapsed_ms < bound_ms, \
                f"{label} took {elapsed_ms:.1f} ms; Okta's spec test allows under {bound_ms} ms"
        return response

    def get(self, label, bound_ms, path, **params):
        url = self.server.url(path)
        return self.timed(label, bound_ms,
                          lambda: self.server.session.get(url, params=params, headers=OKTA_HEADERS))

    def create_body(self, email):
        return {
            "schemas": [USER_URN],
            "userName": self.user_name,
            "name": {"givenName": self.given, "familyName": self.family},
            "emails": [{"primary": True, "value": email, "type": "work"}],
            "displayName": f"{self.given} {self.family}",
            "active": True,
        }

    def post_without_content_type(self, label, body):
        # `data=` bytes: requests sends no Content-Type header at all.
        url = self.server.url("/Users")
        response = self.timed(label, SLOW_MS,
                              lambda: self.server.session.post(url, data=json.dumps(body).encode()))
        assert "Content-Type" not in response.request.headers, response.request.headers
        return response


@pytest.fixture(scope="module")
def spec(server, request):
    run = SpecRun(server)
    # Okta's suite needs one user in the store and reads the first one the list returns.
    # This one is created WITHOUT `active` (RFC 7643 gives it no default; many clients omit it).
    seeded = scim(server.session.post(server.url("/Users"), json={
        "schemas": [USER_URN],
        "userName": f"{unique('first')}@example.com",
        "name": {"givenName": "Morgan", "familyName": "First"},
        "emails": [{"primary": True, "value": f"{unique('morgan')}@example.com", "type": "work"}],
    }), 201)
    run.seeded_id = seeded["id"]
    yield run
    mode = "asserted" if ASSERT_TIMES else f"reported only ({BINARY} is not a release build)"
    lines = [f"Okta spec test response times on {run.backend}, {mode}:"]
    lines += [f"  {ms:7.1f} ms  (bound {bound} ms{', OVER' if ms >= bound else ''})  {label}"
              for label, ms, bound in run.timings]
    # Past pytest's output capture, so the report shows in a plain `pytest -q` run.
    plugins = request.config.pluginmanager
    capture, reporter = plugins.get_plugin("capturemanager"), plugins.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="module")
def created(spec):
    """Step "Create Okta user with realistic values", sent with no Content-Type header."""
    return spec.post_without_content_type("POST /Users (no Content-Type)", spec.create_body(spec.email))


def okta_reads_active(resource):
    # EXPECTED TO FAIL on branch `links` until issue 15 item 1 lands (another branch): the
    # first user was created without `active`, and Okta fails this step when the attribute
    # is absent. After the merge the server renders `active: true` for such a user.
    assert resource.get("active") is True, f"`active` must be rendered: {resource}"


def okta_reads_user(resource):
    """What Okta's suite asserts of a listed or fetched user (the `active` check apart)."""
    assert resource["id"]
    assert resource["name"]["familyName"] and resource["name"]["givenName"]
    assert resource["userName"]
    assert resource["emails"][0]["value"]


def test_discovery_documents(spec):
    config = scim(spec.get("GET /ServiceProviderConfig", FAST_MS, "/ServiceProviderConfig"), 200)
    assert SPC_URN in config["schemas"]
    assert config["filter"]["supported"] is True and config["patch"]["supported"] is True
    types = scim(spec.get("GET /ResourceTypes", FAST_MS, "/ResourceTypes"), 200)
    names = {t["name"] for t in types.get("Resources", types if isinstance(types, list) else [])}
    assert {"User", "Group"} <= names, types
    schemas = scim(spec.get("GET /Schemas", FAST_MS, "/Schemas"), 200)
    ids = {s["id"] for s in schemas.get("Resources", schemas if isinstance(schemas, list) else [])}
    assert USER_URN in ids, schemas


def test_users_endpoint_paged_list(spec):
    body = scim(spec.get("GET /Users?count=1&startIndex=1", SLOW_MS, "/Users", count=1, startIndex=1),
                200)
    assert LIST_URN in body["schemas"]
    for number in ("itemsPerPage", "startIndex", "totalResults"):
        assert isinstance(body[number], int), body
    assert body["Resources"], "Okta needs at least one user here"
    first = body["Resources"][0]
    assert first["id"] == spec.seeded_id, "the first user created is the first one listed"
    okta_reads_user(first)
    okta_reads_active(first)


def test_get_user_by_id(spec):
    body = scim(spec.get("GET /Users/{id}", SLOW_MS, f"/Users/{spec.seeded_id}"), 200)
    assert body["id"] == spec.seeded_id
    okta_reads_user(body)
    okta_reads_active(body)


def test_unknown_user_name_filter(spec):
    body = scim(spec.get('GET /Users?filter=userName eq "<unknown>"', FAST_MS, "/Users",
                         filter=f'userName eq "{uuid.uuid4()}@example.com"'), 200)
    assert LIST_URN in body["schemas"]
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_unknown_id_is_404(spec):
    for label, user_id in (("GET /Users/<random id>", uuid.uuid4().hex),
                           ("GET /Users/00919288221112222", "00919288221112222")):
        body = scim(spec.get(label, SLOW_MS, f"/Users/{user_id}"), 404)
        assert ERROR_URN in body["schemas"]
        assert body["status"] == "404" and body["detail"], body


def test_random_user_does_not_exist_yet(spec):
    body = scim(spec.get('GET /Users?filter=userName eq "<to be created>"', FAST_MS, "/Users",
                         filter=f'userName eq "{spec.user_name}"'), 200)
    assert LIST_URN in body["schemas"] and body["totalResults"] == 0


def test_create_without_content_type(spec, created):
    body = scim(created, 201)
    assert body["id"]
    assert body["active"] is True
    assert USER_URN in body["schemas"]
    assert body["userName"] == spec.user_name
    assert body["name"] == {"givenName": spec.given, "familyName": spec.family}
    assert body["emails"][0]["value"] == spec.email
    fetched = scim(spec.get("GET /Users/{id} (the new user)", SLOW_MS, f"/Users/{body['id']}"), 200)
    assert fetched["userName"] == spec.user_name
    assert fetched["name"]["givenName"] == spec.given
    assert fetched["name"]["familyName"] == spec.family


def test_recreate_is_a_conflict(spec, created):
    assert created.status_code == 201, created.text
    # Okta's re-create sends the userName as the email too; the conflict is on userName.
    again = spec.post_without_content_type("POST /Users again", spec.create_body(spec.user_name))
    body = scim(again, 409)
    assert ERROR_URN in body["schemas"] and body["scimType"] == "uniqueness", body


def test_user_name_case(spec, created):
    new_id = scim(created, 201)["id"]
    body = scim(spec.get('GET /Users?filter=userName eq "<UPPER CASE>"', SLOW_MS, "/Users",
                         filter=f'userName eq "{spec.user_name.upper()}"'), 200)
    # Okta asks only for a 200; userName is not case-exact (RFC 7643), so we find the user.
    assert [r["id"] for r in body["Resources"]] == [new_id]


def test_bare_value_as_filter_is_400(spec):
    body = scim(spec.get("GET /Users?filter=<bare value>", SLOW_MS, "/Users", filter=uuid.uuid4().hex),
                400)
    assert ERROR_URN in body["schemas"]
    assert body["status"] == "400" and body["scimType"] == "invalidFilter", body


def test_groups_endpoint(spec):
    body = scim(spec.get("GET /Groups", SLOW_MS, "/Groups"), 200)
    assert LIST_URN in body["schemas"]
    assert isinstance(body["Resources"], list)
    assert body["totalResults"] == len(body["Resources"]) == 0


def test_wrong_token_is_401(spec):
    url = spec.server.url("/Users")
    headers = {**OKTA_HEADERS, "Authorization": "non-token"}
    response = spec.timed("GET /Users with a bad token", SLOW_MS, lambda: spec.server.session.get(
        url, params={"filter": f'userName eq "{spec.user_name.upper()}"'}, headers=headers))
    body = scim(response, 401)
    assert ERROR_URN in body["schemas"]
    assert body["status"] == "401" and body["detail"], body
