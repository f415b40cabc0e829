"""What the AWS adapters share: one aioboto3 session per process and lazily opened clients."""
