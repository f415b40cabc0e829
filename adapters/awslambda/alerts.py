"""The owner's notice on AWS: a CloudWatch metric written as an Embedded Metric Format log
line (no PutMetricData call, so no IAM right and no latency), which the template's
``SpendCapAlarm`` watches and mails to ``AlertEmail``; and the same words as a log line."""

from __future__ import annotations

import json
import sys
import time

from core.services.limits import OwnerAlert, log_alert

NAMESPACE = "azuchi"
METRIC = "SpendCapReached"


def emf_alert(stage: str) -> OwnerAlert:
    """``core.services.limits.OwnerAlert`` for Lambda: one EMF record on stdout, the metric
    under the dimension ``stage`` (several stacks may share an account)."""

    def alert(what: str, spent: float, cap: float) -> None:
        print(json.dumps(emf_record(stage, what, spent, cap)), file=sys.stdout, flush=True)
        log_alert(what, spent, cap)

    return alert


def emf_record(stage: str, what: str, spent: float, cap: float) -> dict[str, object]:
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [["stage"]], "Metrics": [{"Name": METRIC}]}
            ],
        },
        "stage": stage,
        METRIC: 1,
        "spentUsd": round(spent, 4),
        "capUsd": cap,
        "what": what,
    }
