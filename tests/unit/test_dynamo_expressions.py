"""Conditions become request arguments built by a builder of the call's own (`memerase.dynamo.expressions`)."""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr, Key

from memerase import dynamo


def test_a_key_condition_and_a_filter_get_placeholders_of_their_own_and_an_absent_condition_is_left_out() -> None:
    # Given a key condition on two keys and a filter on two attributes
    key = Key("pk").eq("job#a") & Key("sk").between("job", "job#scope")
    matching = Attr("status").is_in(["QUEUED", "RUNNING"]) & Attr("sk").exists()

    # When they are made into request arguments, with no condition expression
    request = dynamo.expressions(KeyConditionExpression=key, FilterExpression=matching, ConditionExpression=None)

    # Then every name and value has a placeholder no other one shares, and each expression names its own
    assert set(request) == {
        "KeyConditionExpression",
        "FilterExpression",
        "ExpressionAttributeNames",
        "ExpressionAttributeValues",
    }
    assert request["KeyConditionExpression"] == "(#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2)"
    assert request["FilterExpression"] == "(#n2 IN (:v3, :v4) AND attribute_exists(#n3))"
    assert request["ExpressionAttributeNames"] == {"#n0": "pk", "#n1": "sk", "#n2": "status", "#n3": "sk"}
    assert request["ExpressionAttributeValues"] == {
        ":v0": "job#a",
        ":v1": "job",
        ":v2": "job#scope",
        ":v3": "QUEUED",
        ":v4": "RUNNING",
    }


def test_no_condition_is_no_argument() -> None:
    # Given no condition, When it is made into request arguments, Then there are none
    assert dynamo.expressions(ConditionExpression=None) == {}
