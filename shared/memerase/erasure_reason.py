"""Why an erasure was asked for: a bounded code, never free text, and an optional reference (a requester's ticket
id) that is kept only as its keyed hash (`fingerprint.ScopeHasher.reference`). Free text in a reason could carry the
very ids being erased, so it is refused, never stored, never echoed."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from memerase.errors import InvalidRequest

MAX_REFERENCE_LENGTH = 256


class ErasureReason(StrEnum):
    GDPR_ART17 = "gdpr_art17"  # a data subject's right to erasure
    RETENTION = "retention"  # a retention period ran out
    USER_REQUEST = "user_request"  # the user (or an operator for them) asked
    CLEANUP = "cleanup"  # test data, an abandoned agent or run
    OTHER = "other"


CODES = ", ".join(r.value for r in ErasureReason)


def _normalised(value: Any) -> Any:
    """Codes are matched case-insensitively, `-` read as `_` (`GDPR-ART17` is `gdpr_art17`)."""
    return value.strip().lower().replace("-", "_") if isinstance(value, str) else value


ReasonCode = Annotated[ErasureReason, BeforeValidator(_normalised)]


def _no_control_characters(value: Any) -> Any:
    if isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("control characters are not allowed")
    return value


Reference = Annotated[
    str,
    BeforeValidator(_no_control_characters),
    Field(min_length=1, max_length=MAX_REFERENCE_LENGTH, description="kept only as a keyed hash"),
]


class Justification(BaseModel):
    """A request's reason code and its reference (in clear only until the job record is written)."""

    model_config = ConfigDict(hide_input_in_errors=True, frozen=True, extra="forbid")

    code: ReasonCode | None = None
    reference: Reference | None = None

    @classmethod
    def of(cls, reason: Justification | ErasureReason | str | None, reference: str | None = None) -> Justification:
        """From what a caller gave; InvalidRequest naming the allowed codes (never the value given) otherwise."""
        if isinstance(reason, Justification):
            return reason
        try:
            return cls(code=reason, reference=reference)
        except ValidationError as exc:
            field = str(exc.errors()[0].get("loc", ("reason",))[0])
            if field == "reference":
                raise InvalidRequest(
                    f"Invalid reference: 1 to {MAX_REFERENCE_LENGTH} characters, no control characters"
                ) from None
            raise InvalidRequest(
                f"Invalid reason: must be one of {CODES} (put a ticket id or note in `reference`)"
            ) from None


def legacy_reason(value: Any) -> Any:
    """A job record written before reasons were codes holds free text: read it as `other` (the next write of the
    record drops the text)."""
    normalised = _normalised(value)
    if normalised is None or normalised in ErasureReason._value2member_map_:
        return normalised
    return ErasureReason.OTHER
