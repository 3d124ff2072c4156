"""DynamoDB requests through moto, each answer (or error) printed as a JSON line; run with
`plain` or `patched` (local_stack/moto_speedups.py installed). Used by test_moto_speedups.py.
Each expression text is sent more than once with other values, so the second time hits the
speedups' caches."""

import json
import os
import sys

os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
)
if sys.argv[1] == "patched":
    from local_stack import moto_speedups

    moto_speedups.install()

import boto3  # noqa: E402 - after the patches, as the local stack imports them
from moto import mock_aws  # noqa: E402

S = {"S": "x"}


def main() -> None:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"pk": {"S": "w"}, "sk": {"S": "1"}}
    step = {"M": {"send_state": {"S": "sending"}, "n": {"N": "1"}, "tags": {"SS": ["a", "b"]}}}
    item = {"status": {"S": "in_progress"}, "steps": {"L": [step, step]}, "count": {"N": "1"}, "token": S}
    ddb.put_item(TableName="t", Item={**key, **item})

    def call(op: str, **kwargs: object) -> None:
        try:
            answer = getattr(ddb, op)(TableName="t", **kwargs)
            answer.pop("ResponseMetadata", None)
            print(json.dumps({"op": op, "answer": answer}, sort_keys=True, default=str))
        except ddb.exceptions.ClientError as error:
            print(json.dumps({"op": op, "error": error.response["Error"]}, sort_keys=True))
        except Exception as error:  # moto answers some syntax errors with a bare exception
            print(json.dumps({"op": op, "exception": f"{type(error).__name__}: {error}"}))

    for rank in (1, 2, 2, 3):  # the same texts again, with other values (the third one is refused)
        call(
            "update_item",
            Key=key,
            UpdateExpression="SET steps[0].#status = :status, steps[0].status_rank = :rank, "
            "steps[0].message_uuid = if_not_exists(steps[0].message_uuid, :m), #count = #count + :one "
            "REMOVE #token",
            ConditionExpression="attribute_exists(pk) AND size(steps) > :index AND "
            "(attribute_not_exists(steps[0].status_rank) OR steps[0].status_rank < :rank)",
            ExpressionAttributeNames={"#status": "status", "#count": "count", "#token": "token"},
            ExpressionAttributeValues={
                ":status": {"S": f"s{rank}"},
                ":rank": {"N": str(rank)},
                ":m": {"S": f"m{rank}"},
                ":index": {"N": "0"},
                ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )
    call(
        "update_item",
        Key=key,
        UpdateExpression="SET steps[1].tags = :t ADD #count :one DELETE steps[0].tags :a",
        ExpressionAttributeNames={"#count": "count"},
        ExpressionAttributeValues={":t": {"SS": ["z"]}, ":one": {"N": "5"}, ":a": {"SS": ["a"]}},
        ReturnValues="UPDATED_OLD",
    )
    call(
        "update_item",
        Key=key,
        UpdateExpression="SET lst = list_append(if_not_exists(lst, :empty), :more)",
        ExpressionAttributeValues={":empty": {"L": []}, ":more": {"L": [S]}},
        ReturnValues="UPDATED_NEW",
    )
    # What moto's validation refuses: a key attribute, overlapping paths, a reserved word, a type
    # mismatch, an unused value, bad syntax, a failed condition, a reserved word in a condition.
    call("update_item", Key=key, UpdateExpression="SET pk = :v", ExpressionAttributeValues={":v": S})
    call("update_item", Key=key, UpdateExpression="SET a = :v, a.b = :v", ExpressionAttributeValues={":v": S})
    call(
        "update_item", Key=key, UpdateExpression="SET missing.deep = :v", ExpressionAttributeValues={":v": S}
    )
    call(
        "update_item",
        Key=key,
        UpdateExpression="SET #status = #status + :v",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":v": {"N": "1"}},
    )
    call("update_item", Key=key, UpdateExpression="SET a = :undefined", ExpressionAttributeValues={":v": S})
    for condition, names in (
        ("a = = :v", None),
        ("#status = :v", {"#status": "status"}),
        ("status = :v", None),
    ):
        extra = {"ExpressionAttributeNames": names} if names else {}
        call(
            "update_item",
            Key=key,
            UpdateExpression="SET a = :v",
            ConditionExpression=condition,
            ExpressionAttributeValues={":v": S},
            **extra,
        )
    new_key = {"pk": {"S": "new"}, "sk": {"S": "1"}}
    call(
        "update_item",
        Key=new_key,
        UpdateExpression="SET a = :v",
        ExpressionAttributeValues={":v": S},
        ReturnValues="ALL_NEW",
    )
    for _ in range(2):  # created, then refused
        call(
            "put_item",
            Item={"pk": {"S": "w"}, "sk": {"S": "2"}, "status": S},
            ConditionExpression="attribute_not_exists(pk)",
        )
    for prefix, other in (("", "nothing"), ("1", "s3")):
        call(
            "query",
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            FilterExpression="#status <> :x",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":p": {"S": "w"}, ":s": {"S": prefix}, ":x": {"S": other}},
        )
    call("get_item", Key=key, ConsistentRead=True)


if __name__ == "__main__":
    with mock_aws():
        main()
