"""The great-expectations adapter: one ephemeral context per process, suites run over pandas frames,
results as plain dicts.

great-expectations costs seconds and hundreds of MB to import, so it is imported only when a suite
runs (``modules()``), never when this module is imported.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FAILING_VALUES = 10  # failing values kept per expectation

_CONTEXT: dict[str, Any] = {}


def modules():
    """(gx, gxe, batch definition) from one ephemeral context per process."""
    if not _CONTEXT:
        import great_expectations as gx
        import great_expectations.expectations as gxe

        context = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # progress bars only; never fail a check over them
            pass
        batch = (
            context.data_sources.add_pandas("sentinel")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole_frame")
        )
        _CONTEXT.update(gx=gx, gxe=gxe, context=context, batch=batch)
    return _CONTEXT["gx"], _CONTEXT["gxe"], _CONTEXT


def run_expectations(name: str, frame, expectations: list) -> list[dict]:
    """Validate ``frame`` (pandas) against GX expectation objects; one plain dict per expectation."""
    gx, _, ctx = modules()
    context = ctx["context"]
    key = (name, repr([e.model_dump() if hasattr(e, "model_dump") else repr(e) for e in expectations]))
    validation = ctx.setdefault("validations", {}).get(key)
    if validation is None:  # one suite per distinct expectation list, reused for every frame after
        unique = f"{name}_{len(ctx['validations'])}"
        suite = context.suites.add(gx.ExpectationSuite(name=unique, expectations=expectations))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=unique, data=ctx["batch"], suite=suite)
        )
        ctx["validations"][key] = validation
    result = validation.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": FAILING_VALUES},
    )
    return [_plain(r) for r in result.results]


def _plain(r) -> dict:
    config = r.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
    res = r.result or {}
    out = {
        "expectation": config.type,
        "kwargs": jsonable(kwargs),
        "success": bool(r.success),
    }
    for key in ("observed_value", "element_count", "unexpected_count", "unexpected_percent"):
        if key in res:
            out[key] = jsonable(res[key])
    if res.get("partial_unexpected_list"):
        out["failing_values"] = jsonable(res["partial_unexpected_list"])
    if r.exception_info and r.exception_info.get("raised_exception"):
        out["exception"] = str(r.exception_info.get("exception_message"))[:500]
    return out


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def exact(expectation: str, success: bool, observed, failing_values=None, **kwargs) -> dict:
    """An expectation computed exactly by SQL, in the same shape as a GX result."""
    out = {"expectation": expectation, "kwargs": jsonable(kwargs), "success": bool(success),
           "observed_value": jsonable(observed), "computed_by": "duckdb/sql, all rows"}
    if failing_values:
        out["failing_values"] = jsonable(list(failing_values)[:FAILING_VALUES])
    return out


