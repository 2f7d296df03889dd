"""Numbers read back from DynamoDB (boto3 hands them over as Decimal) become plain ints and floats."""

from __future__ import annotations

from decimal import Decimal

from memerase import dynamo


def test_numbers_inside_maps_and_lists_come_back_as_int_or_float() -> None:
    # Given an item as boto3 returns it, with numbers at every depth
    item = {"count": Decimal("3"), "progress": [{"deleted": Decimal("12"), "ratio": Decimal("0.5")}], "name": "x"}

    # When it is made plain
    plain = dynamo.plain(item)

    # Then whole numbers are ints, fractions floats, and everything else is untouched
    assert plain == {"count": 3, "progress": [{"deleted": 12, "ratio": 0.5}], "name": "x"}
    assert type(plain["count"]) is int and type(plain["progress"][0]["ratio"]) is float
