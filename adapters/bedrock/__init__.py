"""Amazon Bedrock model adapter: ConverseStream through aioboto3 (docs/models-bedrock.md)."""
