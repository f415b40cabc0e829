"""Tool arguments checked against the tool's JSON schema before a call (or an approval):
the ``ArgumentCheck`` the composition root gives the agent (core/ports.py)."""

from __future__ import annotations

from typing import Any


def schema_problem(schema: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    """Why ``arguments`` fail ``schema`` (a JSON schema), or None. The schema's ``$ref`` is
    resolved only within itself: nothing is fetched."""
    import jsonschema  # imported on the first call: only the reply worker calls tools
    from referencing import Registry

    try:
        validator = jsonschema.validators.validator_for(schema)(schema, registry=Registry())
        error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    except jsonschema.exceptions.SchemaError as exc:
        return f"the tool's schema cannot be checked: {exc.message}"
    except Exception as exc:  # a $ref elsewhere (Unresolvable), a pattern that cannot compile
        return f"the tool's schema cannot be checked: {exc}"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "arguments"
    return f"arguments refused by the tool's schema ({where}): {error.message}"
