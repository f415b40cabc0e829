"""DynamoDB adapters: storage, and the lean profile's lock and agent memory (docs/dynamodb.md)."""
