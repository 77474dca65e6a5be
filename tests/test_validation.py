"""Table tests of `creditlines.validation` and `clock.parse_instant` bounds (SPEC §15)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from creditlines import clock, validation
from creditlines.errors import ValidationFailed

IDS = [
    ("R-1001", True),
    ("ACME.fr:lyon@2_x-9", True),
    ("x" * 64, True),
    ("x" * 65, False),
    ("", False),
    ("R 1", False),
    ("R/1", False),
    ("R#1", False),
    ("é", False),
    ("R\x00", False),
    (None, False),
    (5, False),
]
REFERENCES = [
    ("FA/2026/0042", True),
    ("FA#12", True),
    ("SO-77", True),
    ("x" * 100, True),
    ("x" * 101, False),
    ("", False),
    ("FA 1", False),
    ("FA%2F1", False),
    ("FA\x00", False),
    ("FA?1", False),
]


@pytest.mark.parametrize("value, ok", IDS)
def test_identifiers(value, ok):
    assert validation.is_identifier(value) is ok
    assert _accepted(validation.Identifier, value) is ok
    if ok:
        assert validation.identifier(value, "id") == value
    else:
        with pytest.raises(ValidationFailed):
            validation.identifier(value, "id")


@pytest.mark.parametrize("value, ok", REFERENCES)
def test_references(value, ok):
    assert validation.is_reference(value) is ok
    assert _accepted(validation.Reference, value) is ok


@pytest.mark.parametrize(
    "value, expected",
    [("FA%2F2026%2F0042", "FA/2026/0042"), ("FA#1", "FA#1"), ("SO-1", "SO-1"), ("A%252F", None), ("A%00", None)],
)
def test_path_references_are_decoded_once(value, expected):
    adapter = TypeAdapter(validation.PathReference)
    if expected is None:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)
    else:
        assert adapter.validate_python(value) == expected


def test_at_signs_stay_out_of_tenant_ids():
    assert validation.tenant_id("Acme.FR:2", "id") == "Acme.FR:2"
    with pytest.raises(ValidationFailed):
        validation.tenant_id("a@b", "id")
    assert _accepted(validation.ProgrammeId, "mezzanine@actebis")
    assert not _accepted(validation.ProgrammeId, "a@b@c")


@pytest.mark.parametrize(
    "value, ok",
    [
        ("Bureau Vallée — Lyon", True),
        ("x" * 200, True),
        ("x" * 201, False),
        ("", False),
        ("   ", False),
        ("a\x00b", False),
        ("a\tb", False),
        ("a\nb", False),
        ("a\x7fb", False),
        ("a\x85b", False),
        ("a\ud800", False),
    ],
)
def test_free_text(value, ok):
    assert _accepted(validation.Name, value) is ok
    if ok:
        assert validation.text(value, "name", max_length=200) == value
    else:
        with pytest.raises(ValidationFailed):
            validation.text(value, "name", max_length=200)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1900-01-01T00:00:00Z", datetime(1900, 1, 1, tzinfo=UTC)),
        ("2200-12-31T23:59:59.999999+00:00", datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2026-06-30T23:59:00+02:00", datetime(2026, 6, 30, 21, 59, tzinfo=UTC)),
        ("1899-12-31T23:59:59.999999Z", None),
        ("1900-01-01T00:30:00+01:00", None),
        ("2201-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00+01:00", None),
        ("9999-12-31T23:59:59-05:00", None),
        ("2026-01-01T00:00:00", None),
        ("2026-01-01T00:00:00+01:00\x00", None),
        ("", None),
        ("x" * 41, None),
    ],
)
def test_instants_are_bounded(value, expected):
    if expected is None:
        with pytest.raises(ValueError):
            clock.parse_instant(value)
        with pytest.raises(ValidationFailed):
            validation.instant(value, "as_of")
    else:
        assert clock.parse_instant(value) == expected


@pytest.mark.parametrize(
    "value, ok",
    [
        (date(1900, 1, 1), True),
        (date(2200, 12, 31), True),
        (date(1899, 12, 31), False),
        (date(2201, 1, 1), False),
        (date(1, 1, 1), False),
        (date(9999, 12, 31), False),
    ],
)
def test_days_are_bounded(value, ok):
    assert _accepted(validation.Day, value) is ok


def _accepted(annotation, value) -> bool:
    try:
        TypeAdapter(annotation).validate_python(value)
        return True
    except ValidationError:
        return False
