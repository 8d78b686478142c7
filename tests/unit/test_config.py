from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config, parse_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
organisation: {name: Oakfield, timezone: Europe/London}
smtp: {host: smtp.example.org, username: lifeline, password: "${SMTP_PASSWORD}", from: "Lifeline <a@example.org>"}
contacts:
  - {id: jo, name: Jo Patel, email: jo@example.org}
services:
  - id: mis
    name: MIS
    notify: [jo]
    checks:
      - {type: http, url: "https://mis.example/login"}
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "lifeline.yaml", env if env is not None else {"SMTP_PASSWORD": "pw"})
    return info.value.problems


@pytest.mark.parametrize("name", ["example.yaml", "trust.yaml"])
def test_shipped_examples_validate(name: str, tmp_path: Path) -> None:
    (tmp_path / "smtp_password").write_text("secret\n")
    (tmp_path / "lifeline_secret").write_text("0123456789abcdef0123\n")
    env = {
        "SMTP_PASSWORD": "pw",
        "CREDENTIALS_DIRECTORY": str(tmp_path),
        "LIFELINE_SECRET": "0123456789abcdef0123",
        "TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/workflows/abc",
        "TWILIO_AUTH_TOKEN": "token",
    }
    config = load_config(ROOT / "config" / name, env)
    assert len(config.services) >= 7
    assert all(s.checks for s in config.services)
    if config.smtp is not None:
        assert config.smtp.secret() in {"pw", "secret"}


def test_minimal_config_and_defaults() -> None:
    config = parse_config(MINIMAL, "x.yaml", {"SMTP_PASSWORD": "s3cret"})
    assert config.defaults.interval.total_seconds() == 60
    assert config.defaults.failures_before_alert == 2
    assert config.smtp is not None and config.smtp.secret() == "s3cret"
    assert config.smtp.from_ == "Lifeline <a@example.org>"
    assert "s3cret" not in repr(config)


def test_unset_variable_is_an_error_with_line() -> None:
    assert problems(MINIMAL, env={}) == [
        "lifeline.yaml:2: smtp.password: environment variable SMTP_PASSWORD is not set"
    ]


def test_variable_default_and_escape() -> None:
    text = MINIMAL.replace("${SMTP_PASSWORD}", "${SMTP_PASSWORD:-fallback}$${literal}")
    config = parse_config(text, "x.yaml", {})
    assert config.smtp is not None and config.smtp.secret() == "fallback${literal}"


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    text = MINIMAL.replace('password: "${SMTP_PASSWORD}"', f"password_file: {secret}")
    config = parse_config(text, "x.yaml", {})
    assert config.smtp is not None and config.smtp.secret() == "from-file"


def test_sla_out_of_range_names_file_line_and_field() -> None:
    text = MINIMAL.replace("    name: MIS\n", "    name: MIS\n    sla: 120\n")
    assert problems(text) == [
        "lifeline.yaml:8: services[0].sla: Input should be less than or equal to 100"
    ]


def test_all_errors_reported_at_once() -> None:
    text = MINIMAL.replace(
        "    name: MIS\n", "    name: MIS\n    sla: 120\n    criticallity: high\n"
    ).replace("- {type: http, url:", "- {type: htp, url:")
    found = sorted(problems(text))
    assert found == [
        "lifeline.yaml:12: services[0].checks[0]: unknown check type 'htp'",
        "lifeline.yaml:8: services[0].sla: Input should be less than or equal to 100",
        "lifeline.yaml:9: services[0].criticallity: unknown field (check the spelling; see the README's configuration reference)",
    ]


def test_unknown_field_inside_a_check_is_rejected_with_its_line() -> None:
    text = MINIMAL.replace(
        '{type: http, url: "https://mis.example/login"}',
        '{type: http, url: "https://x/", expect: 200}',
    )
    found = problems(text)
    assert found == [
        "lifeline.yaml:10: services[0].checks[0].expect: unknown field (check the spelling; see the README's configuration reference)"
    ]


def test_bad_duration() -> None:
    text = MINIMAL.replace("organisation:", "defaults: {interval: soon}\norganisation:")
    found = problems(text)
    assert len(found) == 1 and found[0].startswith(
        "lifeline.yaml:1: defaults.interval: 'soon' is not a duration"
    )


REFS = """\
organisation: {name: Trust}
smtp: {host: smtp.example.org, from: a@example.org}
sites: [{id: oak, name: Oak}]
contacts:
  - {id: jo, name: Jo, site: elm, email: jo@example.org}
services:
  - {id: a, name: A, site: oak, depends_on: [b], notify: [jo, nobody], checks: [{type: http, url: "https://a/"}]}
  - {id: b, name: B, depends_on: [c, ghost], checks: [{type: http, url: "https://b/"}]}
  - {id: c, name: C, depends_on: [a], checks: [{type: http, url: "https://c/"}]}
  - {id: d, name: D, checks: [{type: http, url: "https://c/"}]}
  - {id: d, name: D again, checks: [{type: http, url: "https://c/"}]}
"""


def test_references_and_cycles() -> None:
    found = problems(REFS)
    assert "lifeline.yaml:5: contacts[0].site: unknown site 'elm'" in found
    assert "lifeline.yaml:7: services[0].notify[1]: unknown contact 'nobody'" in found
    assert "lifeline.yaml:8: services[1].depends_on[1]: unknown service 'ghost'" in found
    assert "lifeline.yaml:11: services[4].id: duplicate service id 'd'" in found
    assert any("dependency cycle: a -> b -> c -> a" in p for p in found), found


def test_yaml_syntax_error_has_line() -> None:
    found = problems("organisation: {name: x\nservices: [")
    assert (
        len(found) == 1
        and found[0].startswith("lifeline.yaml:")
        and "YAML syntax error" in found[0]
    )


def test_duplicate_key_is_an_error() -> None:
    text = MINIMAL.replace("    name: MIS\n", "    name: MIS\n    name: Other\n")
    assert "lifeline.yaml:8: services[0].name: duplicate key" in problems(text)


def test_not_a_mapping() -> None:
    assert problems("- a\n- b\n")[0].startswith("lifeline.yaml:1: the file must be a mapping")


def test_unknown_timezone() -> None:
    found = problems(MINIMAL.replace("Europe/London", "Europe/Londn"))
    assert found == [
        "lifeline.yaml:1: organisation.timezone: unknown time zone 'Europe/Londn' (use e.g. Europe/London)"
    ]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml", {})
    assert "nope.yaml: cannot read" in info.value.problems[0]


@pytest.mark.parametrize(
    "bad",
    ["jo", "jo@", "jo@example", "a@b\r\nBcc:x@y.org", "Jo <jo@example.org>", "jo @example.org"],
)
def test_contact_email_must_be_one_plain_address(bad: str) -> None:
    text = MINIMAL.replace(
        "email: jo@example.org", f"email: {bad!r}".replace("'", '"').replace("\r\n", "\\r\\n")
    )
    found = problems(text)
    assert (
        len(found) == 1
        and found[0].startswith("lifeline.yaml:4: contacts[0].email: ")
        and "not an email address" in found[0]
    )


def test_password_without_username_is_an_error() -> None:
    found = problems(MINIMAL.replace("username: lifeline, ", ""))
    assert found == [
        "lifeline.yaml:2: smtp: a password needs a username (AUTH is used only with a username)"
    ]


def test_notify_without_smtp_is_an_error() -> None:
    text = "\n".join(line for line in MINIMAL.splitlines() if not line.startswith("smtp:"))
    assert problems(text) == [
        "lifeline.yaml:1: smtp: an smtp: section is needed to email the contacts in notify:"
    ]


def test_impossible_date_is_a_config_error_with_line() -> None:
    text = (
        MINIMAL
        + "maintenance:\n  - {name: x, start: 2026-02-30 01:00:00, end: 2026-03-01 01:00:00}\n"
    )
    found = problems(text)
    assert (
        len(found) == 1
        and found[0].startswith("lifeline.yaml:12: maintenance[0].start: ")
        and "day is out of range" in found[0]
    )


def test_an_alias_that_refers_to_itself_is_an_error() -> None:
    found = problems(MINIMAL + "extra: &a [*a]\n")
    assert found == ["lifeline.yaml:11: extra[0]: an alias refers to itself"]


def test_an_alias_bomb_is_refused_quickly() -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [{', '.join(['*' + previous] * 10)}]\n"
    found = problems(MINIMAL + bomb)
    assert found == ["lifeline.yaml: too many values (more than 100,000): aliases expanding?"]
