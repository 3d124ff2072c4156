"""A DynamoDB table over the low-level client, taking and returning plain Python values.

The repositories speak the boto3 `Table` dialect (`put_item(Item=...)`, `get_item(Key=...)`,
numbers as Decimal). boto3's resource API provides it, but creating a resource loads and builds a
resource model at every cold start and walks the operation's model on every call; this does the
same conversion with boto3's own TypeSerializer/TypeDeserializer, for the parameters and results
the repositories use.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Request parameters holding items, keys or values, and the attributes of a result that do.
_ITEM_PARAMETERS = ("Item", "Key", "ExclusiveStartKey")
_ITEM_RESULTS = ("Item", "Attributes", "LastEvaluatedKey")


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _request(parameters: dict[str, Any]) -> dict[str, Any]:
    request = dict(parameters)
    for name in (*_ITEM_PARAMETERS, "ExpressionAttributeValues"):
        if name in request:
            request[name] = serialize(request[name])
    return request


def _result(response: dict[str, Any]) -> dict[str, Any]:
    for name in _ITEM_RESULTS:
        if name in response:
            response[name] = deserialize(response[name])
    if "Items" in response:
        response["Items"] = [deserialize(item) for item in response["Items"]]
    return response


class DynamoDBTable:
    """The operations of boto3's `Table` that the repositories use, same arguments and results."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get_item(self, **parameters: Any) -> dict[str, Any]:
        return _result(self.client.get_item(TableName=self.name, **_request(parameters)))

    def put_item(self, **parameters: Any) -> dict[str, Any]:
        return _result(self.client.put_item(TableName=self.name, **_request(parameters)))

    def update_item(self, **parameters: Any) -> dict[str, Any]:
        return _result(self.client.update_item(TableName=self.name, **_request(parameters)))

    def query(self, **parameters: Any) -> dict[str, Any]:
        return _result(self.client.query(TableName=self.name, **_request(parameters)))

    def delete_item(self, **parameters: Any) -> dict[str, Any]:
        return _result(self.client.delete_item(TableName=self.name, **_request(parameters)))

    def scan(self, **parameters: Any) -> dict[str, Any]:
        return _result(self.client.scan(TableName=self.name, **_request(parameters)))

    def transact_write_items(self, operations: list[dict[str, Any]]) -> None:
        """[{"Put" | "Update" | "Delete" | "ConditionCheck": {...}}, ...] on this table."""
        items = [
            {kind: {"TableName": self.name, **_request(request)} for kind, request in operation.items()}
            for operation in operations
        ]
        self.client.transact_write_items(TransactItems=items)
