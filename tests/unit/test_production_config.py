"""The production Streamlit config holds the settings a team installation needs."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_production_config_is_locked_down():
    config = tomllib.loads((ROOT / "deploy" / "config.production.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["server"]["enableStaticServing"] is False
    assert 0 < config["server"]["maxUploadSize"] <= 200
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False


def test_production_options_are_known_to_streamlit():
    from streamlit import config as st_config

    config = tomllib.loads((ROOT / "deploy" / "config.production.toml").read_text())
    known = set(st_config._config_options_template)  # the options this Streamlit version accepts
    for section, values in config.items():
        for key in values:
            assert f"{section}.{key}" in known, f"{section}.{key} is not a Streamlit option"
