"""The DynamoDB Local fixtures of tests/dynamodb, for the crash tests."""

from tests.dynamodb.conftest import dynamo_env, dynamodb_endpoint

__all__ = ["dynamo_env", "dynamodb_endpoint"]
