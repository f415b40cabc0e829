"""AWS Lambda as a place to run replies: ``LambdaInvokeLauncher`` starts the reply worker
function asynchronously (``AZUCHI_REPLY_LAUNCHER=lambda``; docs/aws-runtime.md)."""
