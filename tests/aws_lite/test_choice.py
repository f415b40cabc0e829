"""Which AWS client each function gets, said in handlers/functions.py and in one setting."""

from __future__ import annotations

import pytest

from adapters.settings import Settings, SettingsError
from handlers.functions import FUNCTIONS
from handlers.lambda_runtime import lambda_settings


def test_the_sdk_is_the_default_outside_lambda() -> None:
    assert Settings.from_env({}).aws_client == "sdk"
    assert Settings.from_env({"AZUCHI_AWS_CLIENT": "LITE"}).aws_client == "lite"


def test_an_unknown_client_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match=r"AZUCHI_AWS_CLIENT='boto'.*sdk, lite"):
        Settings.from_env({"AZUCHI_AWS_CLIENT": "boto"})


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_each_lambda_function_gets_its_declared_client_unless_the_setting_says(function) -> None:
    expected = "sdk" if function.talks_to_model else "lite"
    assert function.aws_client == expected
    assert lambda_settings(function.name, {}).aws_client == expected
    assert lambda_settings(function.name, {"AZUCHI_AWS_CLIENT": "sdk"}).aws_client == "sdk"
    assert lambda_settings(function.name, {"AZUCHI_AWS_CLIENT": "lite"}).aws_client == "lite"
