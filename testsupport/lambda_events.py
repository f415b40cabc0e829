"""Events Lambda itself sends (not API Gateway's): for tests and benches alike."""

from __future__ import annotations

import json
from typing import Any


def failed_invocation(session_id: str, condition: str = "RetriesExhausted") -> dict[str, Any]:
    """An SQS event carrying the record Lambda sends to the reply worker's on-failure
    destination (AWS Lambda "Capturing records of asynchronous invocations")."""
    record = {
        "version": "1.0",
        "timestamp": "2026-12-03T09:12:41.123Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:"
            "azuchi-dev-ReplyWorkerFunction:$LATEST",
            "condition": condition,
            "approximateInvokeCount": 2,
        },
        "requestPayload": {"sessionId": session_id},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "model unreachable", "errorType": "RuntimeError"},
    }
    return {
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": json.dumps(record),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:azuchi-dev-ReplyFailureQueue",
                "awsRegion": "us-east-1",
            }
        ]
    }
