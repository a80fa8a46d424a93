"""`make bench --tracing-profile DIR`: one more API round per tracing mode with py-spy on the web
workers, and the share of their busy time OpenTelemetry's own code takes, by package."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from bench import api
from bench.apiprofile import record, stacks, waiting


def profile_modes(
    servers: dict, specs: dict, work: Path, out_dir: Path, *, per_order: int, log=print
) -> dict:
    """One more API round per mode under py-spy: OpenTelemetry's share of the web workers' busy time."""
    result = {}
    for mode, server in servers.items():
        log(f"bench: tracing, one more round of {mode} under py-spy -> {out_dir / mode} ...")
        summary = record(
            server.pids()[1:],
            out_dir / mode,
            lambda m=mode, srv=server: api.run_round("bus_on", srv, specs[m], work, per_order=per_order),
            full_filenames=True,
        )
        summary["opentelemetry_pct_of_busy"] = otel_share([Path(f) for f in summary["files"]])
        result[mode] = summary
        log(f"bench: tracing profile {mode}: OpenTelemetry {summary['opentelemetry_pct_of_busy']}")
    (out_dir / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


# Instrumentation frames that call the instrumented function itself: time below them is the
# request, the query, the Redis command, not tracing's.
_WRAPPERS = (
    "_DjangoMiddleware.__call__",
    "traced_execution",
    "_traced_execute_command",
    "_traced_execute_pipeline",
)


def otel_share(folded: list[Path]) -> dict[str, float]:
    """Percent of the busy samples spent in OpenTelemetry's own code, in all and by the package
    through which the code entered it (the first frame of the innermost run of OpenTelemetry
    frames: opentelemetry/instrumentation/psycopg for a query's span, opentelemetry/sdk/trace for
    the bus's own spans, opentelemetry/sdk/_shared_internal for the export thread). A sample below
    a wrapper (the query under the psycopg wrapper) is the call's, not tracing's. Needs py-spy's
    full file names (apiprofile.record(full_filenames=True))."""
    by_package: collections.Counter[str] = collections.Counter()
    busy = 0
    for frames, n in stacks(folded):
        if waiting(frames):
            continue
        busy += n
        otel = [f.startswith("opentelemetry/") for f in frames]
        if True not in otel:
            continue
        last = len(otel) - 1 - otel[::-1].index(True)
        if frames[last].endswith(_WRAPPERS) and last < len(frames) - 1:
            continue  # below the wrapper: the instrumented call itself
        first = last
        while first > 0 and otel[first - 1]:
            first -= 1
        where = frames[first].partition(":")[0].split("/")
        by_package["/".join(where[:3])] += n
    out = {"all": round(100 * sum(by_package.values()) / busy, 1) if busy else 0.0}
    out.update({k: round(100 * v / busy, 1) for k, v in by_package.most_common()})
    return out
