"""checks: the registry and the discriminated union stay in step with the modules."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import TypeAdapter, ValidationError

import checks
from checks import REGISTRY, AnyCheck, feed, http, module_for, statuspage
from checks.base import CheckSpec
from monitor.errors import CheckError

ANY_CHECK: TypeAdapter[Any] = TypeAdapter(AnyCheck)

MINIMAL = {
    "statuspage": {"type": "statuspage", "url": "https://status.example.com/api/v2/summary.json"},
    "feed": {"type": "feed", "url": "https://status.example.com/history.atom"},
    "http": {"type": "http", "url": "https://mis.example.com/login"},
}


def test_registry_lists_exactly_the_union_members() -> None:
    union_members = get_args(get_args(AnyCheck)[0])
    assert {module.Spec for module in REGISTRY.values()} == set(union_members)
    assert set(REGISTRY) == set(MINIMAL)


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_every_module_satisfies_the_interface(type_name: str) -> None:
    module = REGISTRY[type_name]
    assert issubclass(module.Spec, CheckSpec)
    annotation = module.Spec.model_fields["type"].annotation
    assert get_origin(annotation) is Literal and get_args(annotation) == (type_name,)
    assert module.Spec.model_config.get("extra") == "forbid"
    assert module.Spec.model_config.get("frozen") is True
    assert callable(module.probe) and callable(module.evaluate)
    assert module.Spec.describe is not CheckSpec.describe  # each has a useful label


@pytest.mark.parametrize("type_name", sorted(MINIMAL))
def test_union_parses_each_type_to_its_spec(type_name: str) -> None:
    parsed = ANY_CHECK.validate_python(MINIMAL[type_name])
    assert type(parsed) is REGISTRY[type_name].Spec
    assert module_for(parsed) is REGISTRY[type_name]


@pytest.mark.parametrize("type_name", sorted(MINIMAL))
def test_union_rejects_unknown_keys(type_name: str) -> None:
    with pytest.raises(ValidationError, match="extra"):
        ANY_CHECK.validate_python(MINIMAL[type_name] | {"intervall": "1m"})


@pytest.mark.parametrize(
    "bad", [{"type": "ping", "url": "https://x.example/"}, {"url": "https://x/"}]
)
def test_union_rejects_unknown_or_missing_type(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ANY_CHECK.validate_python(bad)


def test_shared_fields_are_accepted_everywhere() -> None:
    for fields in MINIMAL.values():
        parsed = ANY_CHECK.validate_python(
            fields | {"name": "n", "interval": "2m", "timeout": "5s"}
        )
        assert parsed.describe() == "n"
        assert parsed.interval.total_seconds() == 120


def test_module_for_unregistered_type_raises_check_error() -> None:
    class Stray(CheckSpec):
        pass

    with pytest.raises(CheckError, match="'stray'"):
        module_for(Stray(type="stray"))


def test_modules_are_the_real_ones() -> None:
    assert REGISTRY == {"statuspage": statuspage, "feed": feed, "http": http}
    assert checks.__all__  # the public surface is declared
