"""The public RFC 7643/7644 checkers, run against a live scimd per backend.

Every check must pass except the deviations listed below, each asserted to
fail exactly as documented in README ("Where the checkers and we disagree"),
so a new failure, or a deviation that stops happening, fails the run.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

from conftest import PREFIX

BIN_DIR = pathlib.Path(sys.executable).parent

# scim2-tester first adds the whole card extension (which includes `links`), then adds
# `Card:links` to the same user and expects only its new value back; RFC 7644 §3.5.2.1
# says add appends to a multi-valued attribute, so both links are there.
#
# It also PATCHes a group's `members` without `display` and expects them back exactly so;
# we return each member's `display` (its displayName, else userName), a readOnly sub-attribute
# the server fills in (RFC 7643 §4.2: "display ... READ-ONLY"; RFC 7644 §3.5.2: the response
# is the resource as the server holds it). Matched on both fragments: the only difference
# allowed is a display the tester did not send.
#
# It removes a user's `active` and expects it gone; every User carries `active`, `true` when
# the IdP never set it or removed it (RFC 7643 §4.1.1: its meaning "is determined by the
# service provider"; Okta's own spec test fails on a user without it).
SCIM2_TESTER_DEVIATIONS = {
    ("check_add_attribute", ("urn:ietf:params:scim:schemas:extension:scimd:2.0:Card:links",)),
    ("check_add_attribute", ("unexpected value for 'members'", "display=None, ref=")),
    ("check_replace_attribute", ("unexpected value for 'members'", "display=None, ref=")),
    ("check_remove_attribute", ("did not remove attribute 'active'",)),
}


def is_deviation(name, detail, deviation):
    check, fragments = deviation
    return name == check and all(fragment in detail for fragment in fragments)

# scim-sanity adds the member id "fake-member-id" and expects 200; an unknown member id
# is refused with 400 invalidValue by design (nothing half-applied, no dangling members).
SCIM_SANITY_DEVIATIONS = {
    "PATCH /Groups/{id} add member": "Expected 200, got 400",
}


# Every status scim2-tester 0.5.2 (pinned) can give a result; the CLI prints each result as
# "<STATUS> <check name>" on a line of its own, then its reason indented by two spaces (a
# reason's further lines are not indented). Only SUCCESS counts as passed, as for the CLI
# itself (it exits 1 on any other status).
SCIM2_TESTER_STATUSES = {"SUCCESS", "COMPLIANT", "ACCEPTABLE", "DEVIATION", "ERROR", "CRITICAL", "SKIPPED"}
# Anything at the start of a line shaped like a result: a capitalised word and one name.
RESULT_SHAPE = re.compile(r"^([A-Z][A-Z0-9_]*) ([A-Za-z_][A-Za-z0-9_]*)$")

# `scim2 test` prints no total, so run the CLI itself through a wrapper that also writes the
# statuses of the results the CLI is about to print, in order, to the file named first:
# the parsed output must account for exactly those.
SCIM2_TEST_RUNNER = """
import json, sys
import scim2_cli.test
from scim2_cli import cli

check_server, record_to = scim2_cli.test.check_server, sys.argv[1]

def recorded(*args, **kwargs):
    results = check_server(*args, **kwargs)
    with open(record_to, "w") as out:
        json.dump([result.status.name for result in results], out)
    return results

scim2_cli.test.check_server = recorded
sys.argv = ["scim2", *sys.argv[2:]]
cli()
"""


def parse_scim2_tester(stdout):
    """[(status, check, detail)] for every result line of `scim2 test`, strictly.

    Fails on a result-shaped line with a status we do not know, and on any line that is
    neither the header, a result, nor part of a result's reason.
    """
    lines = stdout.splitlines()
    assert lines and lines[0].startswith("Performing a SCIM compliance check on "), stdout[:500]
    results = []
    for line in lines[1:]:
        shape = RESULT_SHAPE.match(line)
        if shape:
            status, check = shape.groups()
            assert status in SCIM2_TESTER_STATUSES, f"unknown scim2-tester status: {line!r}"
            results.append([status, check, ""])
        else:
            assert results, f"output before the first result: {line!r}"
            results[-1][2] += line + "\n"
    return [tuple(result) for result in results]


def run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    output = result.stdout + result.stderr
    print(output)
    return result.returncode, output


def test_scim2_tester(server):
    from scim2_tester import Status

    assert {status.name for status in Status} == SCIM2_TESTER_STATUSES, "scim2-tester's statuses changed"
    env = dict(os.environ, SCIM_CLI_HEADERS=f"Authorization: Bearer {server.token}")
    with tempfile.NamedTemporaryFile("r", suffix=".json") as recorded:
        result = subprocess.run(
            [sys.executable, "-c", SCIM2_TEST_RUNNER, recorded.name,
             "-u", f"{server.base}{PREFIX}", "test", "--check-status-code", "--check-content-type"],
            capture_output=True, text=True, timeout=900, env=env,
        )
        print(result.stdout + result.stderr)
        recorded_text = recorded.read()
    assert recorded_text, f"the scim2 wrapper recorded no results (exit {result.returncode}): {result.stderr}"
    reported = json.loads(recorded_text)
    results = parse_scim2_tester(result.stdout)
    assert [status for status, _, _ in results] == reported, \
        f"parsed {len(results)} results, the tool reported {len(reported)}"
    passed = [name for status, name, _ in results if status == "SUCCESS"]
    failed = [(name, detail) for status, name, detail in results if status != "SUCCESS"]
    assert result.returncode == (0 if not failed else 1), f"exit {result.returncode}: {result.stderr}"
    unexpected = [
        (name, detail) for name, detail in failed
        if not any(is_deviation(name, detail, deviation) for deviation in SCIM2_TESTER_DEVIATIONS)
    ]
    assert not unexpected, f"unexpected scim2-tester failures: {unexpected}"
    expected_seen = {
        deviation for deviation in SCIM2_TESTER_DEVIATIONS
        for name, detail in failed if is_deviation(name, detail, deviation)
    }
    assert expected_seen == SCIM2_TESTER_DEVIATIONS, "a documented deviation no longer occurs"
    print(f"scim2-tester: {len(results)} results, {len(passed)} passed, "
          f"{len(failed)} failed (documented deviations)")
    assert len(passed) >= 138  # 139 before `active` was always rendered (see above)


def test_scim_sanity_probe_strict(server):
    _, output = run(
        [str(BIN_DIR / "scim-sanity"), "probe", f"{server.base}{PREFIX}", "--token", server.token,
         "--strict", "--i-accept-side-effects", "--json-output"],
    )
    report = json.loads(output[output.index("{"):output.rindex("}") + 1])
    failures = {r["name"]: r.get("message", "") for r in report["results"]
                if r["status"] not in ("pass", "skip")}
    skipped = [r["name"] for r in report["results"] if r["status"] == "skip"]
    assert failures.keys() == SCIM_SANITY_DEVIATIONS.keys(), failures
    for name, message in SCIM_SANITY_DEVIATIONS.items():
        assert message in failures[name], failures
    # Only the draft Agent extensions are skipped: we do not advertise them.
    assert all("Agent" in name for name in skipped), skipped
    summary = report["summary"]
    print(f"scim-sanity strict: {summary['passed']} passed, {summary['failed']} failed, "
          f"{summary['skipped']} skipped (Agent drafts)")
