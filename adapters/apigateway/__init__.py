"""The transport port on API Gateway's management API (``POST/DELETE @connections/{id}``).

``AZUCHI_TRANSPORT=apigateway`` selects it (``plugin.py``); ``transport.py`` holds the
adapter, ``endpoint.py`` how it finds the API's callback URL. See ``docs/aws-runtime.md``.
"""
