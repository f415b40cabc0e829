"""The SAM translation of infra/template.yaml, created as a stack on moto's CloudFormation,
for both profiles: every resource moto can model is really created from the template's own
properties (tables, queues, functions, roles, event source mapping, bucket, VPC), and the
stack then deletes whole.

What moto lacks, and so what is stubbed or not checked here (each listed below in code):
resource types it has no model of (``UNSUPPORTED``: the test fails when that list and moto
disagree, so a type moto learns must leave it) and one it models but not as SAM writes it
(``LIMITED``): both are removed from the stack, their ``Ref``/``GetAtt`` replaced by
placeholders. Properties moto drops: the tables' TimeToLiveSpecification, the functions'
Architectures, the bucket's versioning and lifecycle (checked on the template by
test_template_consistency.py, the tables' TTL on DynamoDB Local by tests/dynamodb; emptying a
versioned bucket on moto's S3 by test_teardown.py). And the redis stack's delete, which moto
stops at the VPC (``DELETES_ON_MOTO``). The translation runs in ``.venv-infra`` (the SAM
translator, as in test_template_lint.py); everything else runs here, in process
(``moto.mock_aws``, the same backend ``moto_server`` serves).
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cloudformation.parsing import resource_class_from_type

from adapters.dynamodb.tables import TEMPLATE
from handlers.functions import BY_NAME
from tests.infra.template_support import FUNCTION_RESOURCES
from tests.infra.test_template_lint import TRANSLATE, _run
from testsupport.aws_credentials import use_dummy_credentials

pytestmark = pytest.mark.timeout(900)

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's

# What moto's CloudFormation has no model of (moto 5.2), and so what this test stubs.
UNSUPPORTED = {
    "AWS::ApiGatewayV2::Api": "the WebSocket API",
    "AWS::ApiGatewayV2::Route": "its routes",
    "AWS::ApiGatewayV2::Integration": "the routes' Lambda proxy integrations",
    "AWS::ApiGatewayV2::Stage": "its stage and throttling",
    "AWS::ApiGatewayV2::Deployment": "its deployment",
    "AWS::ApiGateway::Stage": "the agent REST API's stage (SAM's)",
    "AWS::Lambda::EventInvokeConfig": "the worker's retries and on-failure destination (SAM's)",
    "AWS::CloudWatch::Alarm": "the alarms",
    "AWS::S3::BucketPolicy": "the site bucket's CloudFront-only policy",
    "AWS::CloudFront::Distribution": "the CDN",
    "AWS::CloudFront::OriginAccessControl": "its origin access control",
    "AWS::ElastiCache::ServerlessCache": "the redis profile's cache",
    "AWS::EC2::SecurityGroupEgress": "the redis profile's egress rule",
    "AWS::ApiGatewayV2::Authorizer": "the $connect authorizer (SignIn on only)",
    "AWS::Cognito::UserPool": "the optional user pool (SignIn=cognito only)",
    "AWS::Cognito::UserPoolClient": "its app client (SignIn=cognito only)",
    "AWS::Budgets::Budget": "the optional budget (BudgetEmail set only)",
}
# Types moto models, but not as this template uses them: stubbed too, with why.
LIMITED = {
    "AWS::ApiGateway::Deployment": "moto does not import a RestApi's OpenAPI Body (SAM "
    "defines the agent REST API so), so its deployment fails: the API has no methods",
}
STUBBED = UNSUPPORTED | LIMITED
# moto creates the redis profile's NAT gateway and gateway endpoint from a stack but does not
# delete them with it, so its stack delete stops at the VPC (DependencyViolation): only the
# lean stack's delete is proven here.
DELETES_ON_MOTO = {"lean": True, "redis": False}
PLACEHOLDER_ATTRS = {
    "Endpoint.Address": "stub.serverless.use1.cache.amazonaws.com",
    "Endpoint.Port": "6379",
    "DomainName": "d111111abcdef8.cloudfront.net",
}


@pytest.fixture(scope="module")
def translated(infra_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("sam") / "translated.json"
    result = _run([str(infra_bin / "python"), "-c", TRANSLATE, str(TEMPLATE), str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(out.read_text()))


def placeholder(logical_id: str, attr: str | None = None) -> str:
    if attr is None:
        return f"stub-{logical_id.lower()}"
    if attr == "Arn" or attr.endswith("Arn"):
        return f"arn:aws:stub:{REGION}:{ACCOUNT}:{logical_id.lower()}"
    return PLACEHOLDER_ATTRS.get(attr, f"stub-{logical_id.lower()}-{attr.lower()}")


def without_stubbed(node: Any, stubbed: set[str]) -> Any:
    """``node`` with every Ref / GetAtt / ${} of a stubbed resource made a placeholder."""
    if isinstance(node, list):
        return [without_stubbed(item, stubbed) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in stubbed:
        return placeholder(node["Ref"])
    if set(node) == {"Fn::GetAtt"}:
        target, attr = node["Fn::GetAtt"]
        if target in stubbed:
            return placeholder(target, attr)
    if set(node) == {"Fn::Sub"}:
        text, names = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"]

        def swap(match: re.Match[str]) -> str:
            target, _, attr = match.group(1).partition(".")
            return placeholder(target, attr or None) if target in stubbed else match.group(0)

        text = re.sub(r"\$\{([A-Za-z0-9]+(?:\.[A-Za-z0-9.]+)?)\}", swap, text)
        names = without_stubbed(names, stubbed)
        return {"Fn::Sub": [text, names] if names else text}
    return {key: without_stubbed(value, stubbed) for key, value in node.items()}


def stubbed_template(translated: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    resources = translated["Resources"]
    stubbed = {name: r["Type"] for name, r in resources.items() if r["Type"] in STUBBED}
    kept = {}
    for name, resource in resources.items():
        if name in stubbed:
            continue
        resource = without_stubbed(resource, set(stubbed))
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [depends] if isinstance(depends, str) else depends
            resource["DependsOn"] = [d for d in depends if d not in stubbed]
        kept[name] = resource
    template = {**translated, "Resources": kept}
    template["Outputs"] = without_stubbed(translated.get("Outputs", {}), set(stubbed))
    return template, stubbed


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handlers/connect.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def aws() -> Iterator[None]:
    restore = use_dummy_credentials()
    try:
        with mock_aws():
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(Bucket="artefacts")  # where `sam deploy` would upload CodeUri
            s3.put_object(Bucket="artefacts", Key="function.zip", Body=function_zip())
            yield
    finally:
        restore()


def test_the_stub_list_is_exactly_what_moto_lacks(translated: dict[str, Any]) -> None:
    types = {r["Type"] for r in translated["Resources"].values()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lacking = {t for t in types if resource_class_from_type(t) is None}
    assert lacking == set(UNSUPPORTED)
    assert set(LIMITED) <= types


def _create(template: dict[str, Any], profile: str) -> dict[str, Any]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    params = {"Stage": "dev", "TablePrefix": "azuchi-dev-", "Profile": profile}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfn.create_stack(
            StackName=f"azuchi-{profile}",
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
    stack = cfn.describe_stacks(StackName=f"azuchi-{profile}")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return dict(stack)


def _physical(profile: str) -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    listed = cfn.list_stack_resources(StackName=f"azuchi-{profile}")["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed}


@pytest.mark.parametrize("profile", ["lean", "redis"])
def test_the_translation_creates_and_deletes_on_moto(
    aws: None, translated: dict[str, Any], profile: str
) -> None:
    template, _ = stubbed_template(translated)
    _create(template, profile)
    physical = _physical(profile)

    # the tables, keys, TTL and billing from the template
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    tables = set(dynamodb.list_tables()["TableNames"])
    lean_only = {"azuchi-dev-locks", "azuchi-dev-agent_memory"}
    assert {"azuchi-dev-sessions", "azuchi-dev-connections", "azuchi-dev-messages"} <= tables
    assert (lean_only <= tables) is (profile == "lean")
    sessions = dynamodb.describe_table(TableName="azuchi-dev-sessions")["Table"]
    assert sessions["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sessions["KeySchema"] == [{"AttributeName": "sessionId", "KeyType": "HASH"}]
    # moto creates tables without their TimeToLiveSpecification (DISABLED whatever the
    # template says): the tables' TTL is checked on the template (test_template_consistency)

    # every function, sized as handlers/functions.py says, with the stack's settings
    lam = boto3.client("lambda", region_name=REGION)
    for logical_id, props in FUNCTION_RESOURCES.items():
        if translated["Resources"][logical_id].get("Condition") == "SignInOn":
            assert logical_id not in physical  # SignIn=off, the default
            continue
        config = lam.get_function_configuration(FunctionName=physical[logical_id])
        fact = BY_NAME[Path(props["CodeUri"]).name]
        assert (config["MemorySize"], config["Timeout"]) == (fact.memory_mb, fact.timeout_s)
        assert config["Runtime"] == "python3.13"  # (moto drops Architectures: x86_64)
        env = config["Environment"]["Variables"]
        assert env["AZUCHI_PROFILE"] == profile
        assert env["AZUCHI_LOCK"] == ("dynamodb" if profile == "lean" else "redis")
        if profile == "redis":
            assert env["AZUCHI_REDIS_CLUSTER"] == "true"
            assert env["AZUCHI_REDIS_URL"].startswith("rediss://")

    # failed replies: the queue with its dead-letter queue, consumed by the failure function
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.get_queue_attributes(
        QueueUrl=physical["ReplyFailureQueue"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(
        ":" + physical["ReplyFailureDeadLetterQueue"].rsplit("/", 1)[1]
    )
    mappings = lam.list_event_source_mappings(FunctionName=physical["ReplyFailuresFunction"])
    assert [m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings["EventSourceMappings"]] == [
        physical["ReplyFailureQueue"].rsplit("/", 1)[1]
    ]

    # the redis profile's network (moto models the VPC, subnets, NAT gateway and its address)
    ec2 = boto3.client("ec2", region_name=REGION)
    nat = ec2.describe_nat_gateways()["NatGateways"]
    assert len(nat) == (1 if profile == "redis" else 0)

    # the stack deletes whole. moto creates the site bucket without its VersioningConfiguration
    # and lifecycle rule, and deletes a bucket that holds versions, so BucketNotEmpty and
    # `azuchi empty-bucket` are proven on moto's S3 alone (test_teardown.py)
    assert physical["SiteBucket"] in {b["Name"] for b in s3_buckets()}
    cfn = boto3.client("cloudformation", region_name=REGION)
    if not DELETES_ON_MOTO[profile]:
        with pytest.raises(cfn.exceptions.ClientError, match="DependencyViolation"):
            cfn.delete_stack(StackName=f"azuchi-{profile}")
        return
    cfn.delete_stack(StackName=f"azuchi-{profile}")
    assert not cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]
    assert not (set(dynamodb.list_tables()["TableNames"]) & tables)
    assert not lam.list_functions()["Functions"]
    assert not sqs.list_queues().get("QueueUrls")


def s3_buckets() -> list[dict[str, Any]]:
    return list(boto3.client("s3", region_name=REGION).list_buckets()["Buckets"])
