"""The AWS runtime pieces: API Gateway transport, asynchronous reply start (docs/aws-runtime.md)."""
