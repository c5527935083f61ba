"""The settings: one source (``Config``) for the flags, the environment and the README."""

from __future__ import annotations

from pathlib import Path

import pytest

import config


def test_the_readme_table_is_the_one_config_makes() -> None:
    readme = config.README.read_text()
    assert config.readme_with_table(readme) == readme, (
        "the README's configuration table is stale: run `python config.py --readme`")


def test_every_setting_is_a_flag_and_an_environment_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_GRACE_PERIOD", "7.5")
    monkeypatch.setenv("ARENA_PORT", "9001")
    parsed, command = config.parse(["--port", "9002", "--data-dir", "/tmp/x"])
    assert command == []
    assert parsed.port == 9002  # the flag wins over the environment
    assert parsed.grace_period == 7.5
    assert parsed.data_dir == Path("/tmp/x")
    flags = config.build_parser().format_help()
    table = config.markdown_table()
    for name in config.Config.__dataclass_fields__:
        assert f"--{name.replace('_', '-')}" in flags and f"`--{name.replace('_', '-')}`" in table


def test_a_value_outside_its_choices_is_refused() -> None:
    with pytest.raises(SystemExit):
        config.parse(["--event-loop", "trio"])


def test_secrets_never_go_on_another_process_command_line() -> None:
    argv = ["--cookie-secret", "s3cret", "--port", "0", "--mongodb-uri=mongodb://u:p@h/",
            "--workers", "2", "--node-name", "cookie-secret"]
    assert config.public_argv(argv) == ["--port", "0", "--workers", "2",
                                        "--node-name", "cookie-secret"]
    with pytest.raises(SystemExit):  # no abbreviation slips a secret past that
        config.parse(["--cookie-sec", "s3cret"])


def test_a_trusted_proxy_that_is_not_an_address_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        config.parse(["--trusted-proxies", "127.0.0.1,proxy.local"])
    assert "--trusted-proxies: not an address or CIDR block: 'proxy.local'" in \
        capsys.readouterr().err
    assert config.parse(["--trusted-proxies", "10.0.0.0/8"])[0].trusted_proxies == "10.0.0.0/8"
