"""infra/template.yaml passes cfn-lint and checkov.

cfn-lint and checkov pin heavy dependencies, so they live in their own venv
(``make .venv-infra/.stamp``, made here when missing). cfn-lint validates the SAM template
as written, then the CloudFormation that the SAM translator makes of it (generated roles,
permissions, stages): only that second pass sees a policy naming a resource that does not
exist. A missing venv that cannot be made skips on a laptop and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from adapters.dynamodb.tables import TEMPLATE

ROOT = TEMPLATE.parents[1]
CHECKOV_CONFIG = ROOT / "infra" / ".checkov.yaml"

pytestmark = pytest.mark.timeout(900)  # the first run installs the infra venv

# Runs in the infra venv: the SAM translator turns the template into plain CloudFormation.
# Local CodeUri folders become S3 locations, as `sam deploy` makes them.
TRANSLATE = """
import json, sys
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    if resource.get("Type") == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://artefacts/function.zip"
try:
    out = transform(template, {}, NoManagedPolicies())
except InvalidDocumentException as error:
    sys.exit("\\n".join(str(cause) for cause in error.causes))
json.dump(out, open(sys.argv[2], "w"), indent=1)
"""


def _run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1", **env},
    )


def cfn_lint(infra_bin: Path, template: Path) -> str:
    """cfn-lint's findings on the template and on its SAM translation ("" when clean)."""
    translated = template.with_suffix(".translated.json")
    translation = _run([str(infra_bin / "python"), "-c", TRANSLATE, str(template), str(translated)])
    if translation.returncode != 0:
        return f"SAM translation failed: {translation.stderr}"
    findings = [_run([str(infra_bin / "cfn-lint"), str(path)]) for path in (template, translated)]
    return "".join(f.stdout + (f.stderr if f.returncode else "") for f in findings)


def test_cfn_lint_finds_nothing_in_the_template_or_its_translation(
    infra_bin: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "template.yaml"
    copy.write_text(TEMPLATE.read_text(encoding="utf-8"))
    assert cfn_lint(infra_bin, copy) == ""


def test_cfn_lint_catches_a_policy_naming_a_missing_table(infra_bin: Path, tmp_path: Path) -> None:
    """The lint is not a no-op: a typo in a function's policy fails it."""
    broken = tmp_path / "template.yaml"
    text = TEMPLATE.read_text(encoding="utf-8")
    broken.write_text(text.replace("!GetAtt SessionsTable.Arn", "!GetAtt SessionTable.Arn", 1))
    assert "SessionTable" in cfn_lint(infra_bin, broken)


def test_checkov_fails_no_check(infra_bin: Path) -> None:
    result = _run(
        [
            str(infra_bin / "checkov"),
            "--config-file",
            str(CHECKOV_CONFIG),
            "-f",
            str(TEMPLATE),
            "-o",
            "json",
        ],
        BC_SKIP_MAPPING="TRUE",
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["passed"] >= 30  # it did scan the resources


def test_every_skipped_checkov_check_says_why() -> None:
    skips = re.findall(
        r"^\s*-\s*(CKV2?_AWS_\d+)\s*(?:#\s*(.*))?$", CHECKOV_CONFIG.read_text(), re.M
    )
    assert skips, "expected the skip list in infra/.checkov.yaml"
    unexplained = [check for check, reason in skips if len(reason or "") < 30]
    assert unexplained == []
