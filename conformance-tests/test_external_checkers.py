"""The public RFC 7643/7644 checkers, run against a live scimd per backend."""

import os
import pathlib
import re
import subprocess
import sys

from conftest import PREFIX

BIN_DIR = pathlib.Path(sys.executable).parent


def run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    output = result.stdout + result.stderr
    print(output)
    return result.returncode, output


def test_scim2_tester_passes_every_check(server):
    env = dict(os.environ, SCIM_CLI_HEADERS=f"Authorization: Bearer {server.token}")
    code, output = run(
        [str(BIN_DIR / "scim2"), "-u", f"{server.base}{PREFIX}", "test",
         "--check-status-code", "--check-content-type"],
        env=env,
    )
    assert code == 0, output
    assert not re.search(r"\b(ERROR|FAILED|CRITICAL)\b", output), output


def test_scim_sanity_probe_passes_every_phase(server):
    code, output = run(
        [str(BIN_DIR / "scim-sanity"), "probe", f"{server.base}{PREFIX}", "--token", server.token,
         "--i-accept-side-effects"],
    )
    summary = re.search(r"(\d+) passed, (\d+) failed", output)
    assert summary, output
    assert int(summary.group(2)) == 0, output
    assert code == 0, output
