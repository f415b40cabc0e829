"""A small AWS client on the standard library, for the functions that call no model.

Importing botocore, aiobotocore and aiohttp is about two thirds of a small function's init
(README, "Cold starts"); those functions make a handful of DynamoDB JSON calls, a
``PostToConnection`` and at most one ``Invoke``, which need only SigV4 (``sigv4``), an
HTTPS connection kept alive (``http``), and the wire format of two protocols:

    awsJson1_0  DynamoDB              POST /, X-Amz-Target, DynamoDB JSON ('B' as bytes)
    restJson1   execute-api, lambda   POST/DELETE/GET /@connections/{id}; Invoke

Errors are ``AwsError`` (``.response`` shaped as botocore's ``ClientError.response``,
``Error.Code`` read from ``__type`` or ``x-amzn-ErrorType``) and ``AwsConnectionError`` (an
``OSError``), which ``adapters.aws.errors`` classifies exactly as it does botocore's. No
retries here: the adapters' own loops (``adapters.backoff``) are the only ones, as with the
SDK whose retries they switch off. Chosen per function by ``handlers.functions``
(``LambdaFunction.aws_client``), forced either way by ``AZUCHI_AWS_CLIENT=lite|sdk``.
"""
