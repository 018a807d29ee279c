"""Settings: parsed once, strictly, from the environment, a TOML file and *_FILE secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairwell.config import Settings, SmtpSecurity, load_settings
from fairwell.errors import ConfigurationError, FairwellError

DOCS = Path(__file__).parent.parent / "docs" / "operations.md"


def test_every_setting_is_documented_for_operators() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"`{field.alias or 'FAIRWELL_' + name.upper()}`" in text


def test_it_reads_fairwell_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIRWELL_SMTP_SECURITY", "starttls")
    monkeypatch.setenv("FAIRWELL_FROM", "jobs@acme.example.com")
    settings = load_settings()
    assert settings.smtp_security is SmtpSecurity.STARTTLS
    assert settings.from_address == "jobs@acme.example.com"


def test_the_default_sender_is_a_valid_address_and_a_set_one_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default is not parsed on each start (validate_default=False): it must be valid."""
    from fairwell.domain.addresses import normalise_address

    default = Settings.model_fields["from_address"].default
    assert normalise_address(default) == default
    monkeypatch.setenv("FAIRWELL_FROM", "not an address")
    with pytest.raises(ConfigurationError, match="FAIRWELL_FROM"):
        load_settings()


def test_a_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n", encoding="utf-8")
    monkeypatch.setenv("FAIRWELL_SMTP_PASSWORD_FILE", str(tmp_path / "pw"))
    assert load_settings().smtp_password == "s3cret"


def test_a_missing_secret_file_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIRWELL_SMTP_PASSWORD_FILE", "/nonexistent/pw")
    with pytest.raises(ConfigurationError, match="FAIRWELL_SMTP_PASSWORD_FILE"):
        load_settings()


def test_a_bad_value_names_the_setting_and_is_not_a_fairwell_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAIRWELL_SMTP_PORT", "seventy")
    with pytest.raises(ConfigurationError, match="smtp_port") as caught:
        load_settings()
    assert not isinstance(caught.value, FairwellError)


def test_a_toml_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "fairwell.toml"
    config.write_text('smtp_host = "relay.example.com"\norg_name = "Acme"\n', encoding="utf-8")
    monkeypatch.setenv("FAIRWELL_CONFIG_FILE", str(config))
    monkeypatch.setenv("FAIRWELL_ORG_NAME", "Acme Ltd")
    settings = load_settings()
    assert (settings.smtp_host, settings.org_name) == ("relay.example.com", "Acme Ltd")


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.smtp_port = 25  # type: ignore[misc]


def test_the_default_locale_is_a_letter_language_and_a_set_one_is_read_as_imports_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fairwell.domain.reasons import SUPPORTED_LOCALES

    assert Settings.model_fields["default_locale"].default in SUPPORTED_LOCALES
    monkeypatch.setenv("FAIRWELL_DEFAULT_LOCALE", "de_AT")
    assert load_settings().default_locale == "de"
    monkeypatch.setenv("FAIRWELL_DEFAULT_LOCALE", "fr")
    with pytest.raises(ConfigurationError, match=r"default_locale: .*'fr' is not a language"):
        load_settings()
