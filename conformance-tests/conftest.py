"""Starts a real `scimd` (release binary) per test module and backend.

SQLite runs always; PostgreSQL runs when the server named by
SCIMD_TEST_POSTGRES_URL (the Rust suite's setting too) answers, with a fresh
schema per server, and is required when CI=true or SCIMD_REQUIRE_POSTGRES is
set. Otherwise its runs are reported as skipped, never passed.
"""

import functools
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARY = os.environ.get("SCIMD_BIN", str(ROOT / "target" / "release" / "scimd"))
POSTGRES_URL = os.environ.get("SCIMD_TEST_POSTGRES_URL", "postgres://127.0.0.1:5432/test")
# The address to probe comes from the URL itself (libpq's defaults when it names none).
_POSTGRES_PARTS = urllib.parse.urlsplit(POSTGRES_URL)
POSTGRES_HOST = _POSTGRES_PARTS.hostname or "localhost"
POSTGRES_PORT = _POSTGRES_PARTS.port or 5432
PREFIX = "/api/external/scim"


def postgres_required():
    return os.environ.get("CI") == "true" or "SCIMD_REQUIRE_POSTGRES" in os.environ


@functools.cache
def postgres_unavailable():
    """Why the PostgreSQL runs cannot happen here, or None when they can."""
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=1):
            pass
    except OSError as e:
        return f"nothing answers at {POSTGRES_HOST}:{POSTGRES_PORT} (SCIMD_TEST_POSTGRES_URL): {e}"
    if shutil.which("psql") is None:
        return "psql is not installed (Debian: apt-get install postgresql-client)"
    return None


def psql(sql):
    subprocess.run(["psql", POSTGRES_URL, "-q", "-c", sql], check=True, capture_output=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running scimd with tenant `acme` and a token for it."""

    def __init__(self, database_url, extra_args=()):
        self.database_url = database_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cli("tenant", "create", "acme")
        self.token = self.cli("token", "issue", "--tenant", "acme", "--label", "conformance").strip()
        self.log = tempfile.NamedTemporaryFile(prefix="scimd-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [BINARY, "--database-url", database_url, "serve", "--bind", f"127.0.0.1:{self.port}",
             "--log-format", "json", "--admin-bind", "off", *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"scimd did not start; log in {self.log.name}")
        self.session = self.client(self.token)

    def cli(self, *args):
        return subprocess.run(
            [BINARY, "--database-url", self.database_url, *args],
            check=True, capture_output=True, text=True,
        ).stdout

    def client(self, token):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        return session

    def url(self, path, prefix=PREFIX):
        return f"{self.base}{prefix}{path}"

    def member_card(self, member_id):
        """The card the product shows, through `scimd member show`."""
        import json

        return json.loads(self.cli("member", "show", "--tenant", "acme", member_id))["card"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def backends():
    params = [pytest.param("sqlite", id="sqlite")]
    reason = postgres_unavailable()
    if reason is None:
        params.append(pytest.param("postgres", id="postgres"))
    elif postgres_required():
        raise RuntimeError(f"PostgreSQL is required here but {reason}")
    else:
        # A skip mark, not a missing parameter: every PostgreSQL run shows up as skipped.
        skip = pytest.mark.skip(reason=f"PostgreSQL SKIPPED: {reason}")
        params.append(pytest.param("postgres", id="postgres", marks=skip))
    return params


def pytest_terminal_summary(terminalreporter):
    reason = postgres_unavailable()
    if reason is not None:
        terminalreporter.write_sep("*", f"PostgreSQL conformance runs SKIPPED: {reason}", red=True, bold=True)


def database_for(backend):
    """A fresh database URL and, for PostgreSQL, the schema to drop after."""
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="scimd-conformance-")
        database_url = os.path.join(directory, "scimd.db")
        schema = None
    else:
        schema = f"conf_{uuid.uuid4().hex}"
        psql(f"CREATE SCHEMA {schema}")
        database_url = f"{POSTGRES_URL}?options=-c%20search_path%3D{schema}"
    return database_url, schema


def running(backend, extra_args=()):
    database_url, schema = database_for(backend)
    started = Server(database_url, extra_args)
    yield started
    started.stop()
    if schema:
        psql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module", params=backends())
def server(request):
    yield from running(request.param)


@pytest.fixture(scope="module", params=backends())
def throttled_server(request):
    """A server allowing each team 5 requests per second."""
    yield from running(request.param, ("--rate-limit", "5"))


SCIM_JSON = "application/scim+json"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def scim(response, status):
    """Asserts status and SCIM content type; returns the JSON body (or None)."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    if not response.content:
        return None
    assert response.headers["content-type"] == SCIM_JSON, response.headers
    return response.json()


def written(server, response, status, fetch=True):
    """A write answered with the resource (POST 201, PUT/PATCH 200).

    Asserts status and content type, that `Location` is the absolute URL in
    `meta.location` (ending in the resource's id) and `ETag` is `meta.version`;
    then, unless `fetch` is false, GETs that location and asserts it returns the
    same resource with the same ETag (the write is really the stored state).
    Returns the body.
    """
    body = scim(response, status)
    meta = body["meta"]
    location = meta["location"]
    parts = urllib.parse.urlsplit(location)
    assert parts.scheme in ("http", "https") and parts.netloc, f"not absolute: {location}"
    assert parts.path.endswith(f"/{body['id']}"), location
    assert response.headers.get("Location") == location, response.headers
    assert meta["version"], meta
    assert response.headers.get("ETag") == meta["version"], response.headers
    if fetch:
        again = server.session.get(location)
        assert scim(again, 200) == body, "GET after the write returns what the write answered"
        assert again.headers.get("ETag") == meta["version"], again.headers
    return body


def gone(server, path_or_url):
    """Asserts a GET of the resource is 404 with a SCIM error body."""
    url = path_or_url if path_or_url.startswith("http") else server.url(path_or_url)
    error = scim(server.session.get(url), 404)
    assert error["status"] == "404", error


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"
