"""`meltano run deel-to-jumpcloud` with a JumpCloud service account instead of the API key.

The credentials come from the environment only, as an administrator sets them (.env or the
scheduler's secrets); the `dev` environment's `token_url` is overridden to the emulator's
ephemeral port like its `api_url`. Meltano's own output is checked for the secret and tokens.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.conftest import DEEL_TOKEN
from tests.e2e.test_meltano import expected_usernames_count, meltano, report
from tests.emulators.jumpcloud_oauth import TOKEN_PATH
from tests.emulators.workforce import generate_workforce

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator
    from tests.emulators.jumpcloud import JumpCloudEmulator

pytestmark = pytest.mark.meltano

CLIENT_ID = "svc-meltano-e2e"
SECRET = "svc-meltano-secret-0b7d"


def test_the_job_runs_with_a_service_account_from_the_environment(
    tmp_path: Path,
    deel_emulator: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    deel_emulator.app.set_workforce(generate_workforce(40, seed=12))
    deel_emulator.app.rate_limit_enabled = False
    jc = jumpcloud_emulator.app
    jc.oauth.add_client(CLIENT_ID, SECRET)
    jc.set_api_key("a-key-nobody-was-given")  # only the service account can work
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TARGET_JUMPCLOUD_")},
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
        "TAP_DEEL_API_URL": f"{deel_emulator.url}/rest/v2",
        "TARGET_JUMPCLOUD_CLIENT_ID": CLIENT_ID,
        "TARGET_JUMPCLOUD_CLIENT_SECRET": SECRET,
        "TARGET_JUMPCLOUD_API_URL": f"{jumpcloud_emulator.url}/api",
        "TARGET_JUMPCLOUD_TOKEN_URL": f"{jumpcloud_emulator.url}{TOKEN_PATH}",
        "TARGET_JUMPCLOUD_REPORT_PATH": str(tmp_path / "report.json"),
    }
    result = meltano("run", "deel-to-jumpcloud", env=env)
    assert jc.user_count == expected_usernames_count(deel_emulator) > 0
    assert report(env)["counts"]["created"] == jc.user_count
    assert jc.oauth.grants == 1
    output = result.stdout + result.stderr + (tmp_path / "report.json").read_text()
    for secret in (SECRET, *jc.oauth.issued_tokens()):
        assert secret not in output
