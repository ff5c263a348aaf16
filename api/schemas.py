"""Field types every resource's request schemas share."""

from typing import Annotated

from pydantic import AfterValidator


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    return value


# A string field of a request body: PostgreSQL text cannot hold NUL, so such a field is an invalid_request.
Text = Annotated[str, AfterValidator(_storable)]
