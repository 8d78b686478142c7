from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.acklinks import BadToken, make_token, read_token

SECRET = b"0123456789abcdef-secret"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_round_trip() -> None:
    token = make_token(SECRET, "mis-20261203-0902-ab12", "jo", NOW + timedelta(days=7))
    claim = read_token(SECRET, token, NOW)
    assert (claim.incident_id, claim.contact_id) == ("mis-20261203-0902-ab12", "jo")
    assert (
        read_token(SECRET, make_token(SECRET, "x", None, NOW + timedelta(hours=1)), NOW).contact_id
        is None
    )


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"), "not valid"),
        (lambda t: t.split(".")[0], "incomplete"),
        (lambda t: "!!!." + t.split(".")[1], "not valid|incomplete"),
        (
            lambda t: make_token(b"another-secret-entirely", "mis", "jo", NOW + timedelta(days=1)),
            "not valid",
        ),
    ],
)
def test_forged_or_damaged_tokens_are_refused(mangle: object, message: str) -> None:
    token = make_token(SECRET, "mis", "jo", NOW + timedelta(days=1))
    with pytest.raises(BadToken, match=message):
        read_token(SECRET, mangle(token), NOW)  # type: ignore[operator]


def test_changing_the_incident_breaks_the_signature() -> None:
    import base64
    import json

    token = make_token(SECRET, "mis", "jo", NOW + timedelta(days=1))
    payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["i"] = "finance"
    forged = (
        base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode() + "." + signature
    )
    with pytest.raises(BadToken, match="not valid"):
        read_token(SECRET, forged, NOW)


def test_expired() -> None:
    token = make_token(SECRET, "mis", "jo", NOW)
    with pytest.raises(BadToken, match="expired"):
        read_token(SECRET, token, NOW)
    assert read_token(SECRET, token, NOW - timedelta(seconds=1)).incident_id == "mis"
