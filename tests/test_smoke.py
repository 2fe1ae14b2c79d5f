from pathlib import Path

from kwaak.config import render_config


def test_config_factory_builds_and_masks(make_config, tmp_git_repo: Path) -> None:
    config = make_config(openai_api_key="text:sk-sentinel-123")
    assert config.project_name == "testproject"
    assert config.languages == ("Python",)
    text = render_config(config)
    assert "sk-sentinel-123" not in text
    assert "ApiKey(****)" in text
