"""meltano.yml and .env.example offer the service account first, and hold no secret."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MELTANO = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
TARGET = next(p for p in MELTANO["plugins"]["loaders"] if p["name"] == "target-jumpcloud")


def test_either_way_of_authenticating_satisfies_meltano() -> None:
    assert TARGET["settings_group_validation"] == [["client_id", "client_secret"], ["api_key"]]


def test_the_client_secret_is_sensitive_and_the_id_and_url_are_not() -> None:
    settings = {s["name"]: s for s in TARGET["settings"]}
    assert settings["client_secret"].get("sensitive") is True
    assert not settings["client_id"].get("sensitive")
    assert not settings["token_url"].get("sensitive")


def test_meltano_yml_holds_no_credential_value() -> None:
    text = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    for name in ("client_secret:", "client_id:", "api_key:"):
        assert name not in text
    dev = next(e for e in MELTANO["environments"] if e["name"] == "dev")
    (loader,) = [p for p in dev["config"]["plugins"]["loaders"] if p["name"] == "target-jumpcloud"]
    # The dev environment's token endpoint is the local emulator's, never JumpCloud's.
    assert loader["config"]["token_url"] == "http://127.0.0.1:47181/oauth2/token"


def test_env_example_names_the_service_account_first_without_values() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert names.index("TARGET_JUMPCLOUD_CLIENT_ID") < names.index("TARGET_JUMPCLOUD_API_KEY")
    assert "TARGET_JUMPCLOUD_CLIENT_SECRET" in names
    assert all(line.endswith("=") for line in lines if line and not line.startswith("#"))
