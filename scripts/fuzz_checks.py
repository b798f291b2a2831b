"""Schemathesis hooks and checks of scripts/fuzz-api: every error response is RFC 9457
problem+json with a stable `code` (the built-in `not_a_server_error` check covers 5xx), and
requests whose strings carry NUL or another control character (tab and newline are text) are
generated on purpose and must be refused with a 4xx, never stored, never a 5xx (issue #20, M1)."""

import json
import os

import schemathesis
from hypothesis import strategies as st

# NUL, other C0 controls, DEL and a C1 control: what Postgres jsonb or a log line chokes on.
CONTROL_CHARACTERS = ["\x00", "\x01", "\x07", "\x1b", "\r", "\x7f", "\x85"]


def _poison(value, control, keys=True):
    """`value` with `control` inserted into every string in it, and into its object keys if
    `keys` (parameter names must stay as the route declares them)."""
    if isinstance(value, str):
        return value[: len(value) // 2] + control + value[len(value) // 2 :]
    if isinstance(value, list):
        return [_poison(item, control) for item in value]
    if isinstance(value, dict):
        return {
            (_poison(key, control) if keys else key): _poison(item, control)
            for key, item in value.items()
        }
    return value


def _has_string(value):
    if isinstance(value, str):
        return True
    if isinstance(value, list):
        return any(_has_string(item) for item in value)
    if isinstance(value, dict):
        return any(isinstance(key, str) or _has_string(item) for key, item in value.items())
    return False


def _sometimes_poisoned(value, keys):
    if not _has_string(value):
        return st.just(value)
    return st.one_of(
        st.just(value),
        st.sampled_from(CONTROL_CHARACTERS).map(lambda control: _poison(value, control, keys)),
    )


@schemathesis.hook
def flatmap_body(ctx, body):
    return _sometimes_poisoned(body, keys=True)


# Ids of resources scripts/fuzz-api created: {"account_id": …, "<collection>": id, …}.
SEEDED = json.loads(os.environ.get("FUZZ_IDS", "{}"))


def _seeded(ctx, parameters):
    """`parameters` naming the seeded resources of the route, where it has some."""
    path = ctx.operation.path if ctx.operation is not None else ""
    seeded = dict(parameters)
    for name in seeded:
        collection = path.split("/")[2] if path.count("/") >= 2 else ""
        if name == "account_id" and "account_id" in SEEDED:
            seeded[name] = SEEDED["account_id"]
        elif name == "id" and SEEDED.get(collection):
            seeded[name] = SEEDED[collection]
    return seeded


@schemathesis.hook
def flatmap_path_parameters(ctx, parameters):
    if not parameters:
        return st.just(parameters)
    return st.sampled_from([parameters, _seeded(ctx, parameters)]).flatmap(
        lambda chosen: _sometimes_poisoned(chosen, keys=False)
    )


@schemathesis.hook
def flatmap_query(ctx, query):
    return _sometimes_poisoned(query, keys=False)


def _poisoned(value):
    if isinstance(value, str):
        return any(control in value for control in CONTROL_CHARACTERS)
    if isinstance(value, list):
        return any(_poisoned(item) for item in value)
    if isinstance(value, dict):
        return any(_poisoned(key) or _poisoned(item) for key, item in value.items())
    return False


@schemathesis.check
def control_characters_refused(ctx, response, case):
    parts = (case.body, case.path_parameters, case.query)
    if any(_poisoned(part) for part in parts) and not 400 <= response.status_code < 500:
        raise AssertionError(
            f"a control character was answered {response.status_code}, not refused with a 4xx"
        )
    return None


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
