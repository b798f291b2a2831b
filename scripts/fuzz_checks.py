"""Schemathesis checks of scripts/fuzz-api: every error response is RFC 9457 problem+json with a
stable `code` (the built-in `not_a_server_error` check covers 5xx)."""

import json

import schemathesis


@schemathesis.check
def problem_json(ctx, response, case):
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if not content_type.startswith("application/problem+json"):
        raise AssertionError(
            f"{response.status_code} answered {content_type!r}, not application/problem+json"
        )
    body = json.loads(response.content)
    for field in ("type", "title", "status", "detail", "code"):
        if field not in body:
            raise AssertionError(f"the problem lacks `{field}`: {body}")
    if body["status"] != response.status_code:
        raise AssertionError(f"the problem says {body['status']}, the response {response.status_code}")
    return None
