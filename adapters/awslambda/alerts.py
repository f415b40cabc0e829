"""The owner's notice on AWS: a CloudWatch metric written as an Embedded Metric Format log
line (no PutMetricData call, so no IAM right and no latency), which the template's
``SpendCapAlarm`` watches and mails to ``AlertEmail``; and the same words as a log line."""

from __future__ import annotations

import json
import sys
import time

from core.services.limits import log_alert

NAMESPACE = "azuchi"
METRIC = "SpendCapReached"


def emf_alert(what: str, spent: float, cap: float) -> None:
    """``core.services.limits.OwnerAlert`` for Lambda: one EMF record on stdout."""
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": [{"Name": METRIC}]}
            ],
        },
        METRIC: 1,
        "spentUsd": round(spent, 4),
        "capUsd": cap,
        "what": what,
    }
    print(json.dumps(record), file=sys.stdout, flush=True)
    log_alert(what, spent, cap)
