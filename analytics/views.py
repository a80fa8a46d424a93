"""The manager's dashboard and its CSV downloads. Read-only: a page view never writes a rollup."""

from __future__ import annotations

import csv

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics import selectors
from analytics.forms import DashboardFilter
from pizzeria.security.permissions import permission_required

# Revenue is the manager's business, not every staff member's (the role matrix in docs/security.md).
dashboard_permission_required = permission_required(
    "analytics.view_dashboard", message="The dashboard is for managers."
)


@require_GET
@dashboard_permission_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardFilter(request.GET)
    if not form.is_valid():
        return render(request, "analytics/dashboard.html", {"form": form, "title": "Dashboard"}, status=400)
    period = {k: form.cleaned_data[k] for k in ("start", "end", "day")}
    data = selectors.dashboard(**period)
    charts = {name: table.as_json() for name, table in data["tables"].items()}
    shown = DashboardFilter(initial=period)  # the fields show the period in force, defaults included
    return render(
        request,
        "analytics/dashboard.html",
        {
            "form": shown,
            "title": "Dashboard",
            **period,
            **data,
            "charts": charts,
            "query": request.GET.urlencode(),
            "bus_chart_height": 60 + 24 * len(data["tables"]["deliveries"].rows),
        },
    )


@require_GET
@dashboard_permission_required
def table_csv(request: HttpRequest, name: str) -> HttpResponse:
    form = DashboardFilter(request.GET)
    if not form.is_valid():
        return HttpResponse(
            "; ".join(str(m) for ms in form.errors.values() for m in ms),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    period = {k: form.cleaned_data[k] for k in ("start", "end", "day")}
    tables = selectors.dashboard(**period)["tables"]
    if name not in tables:
        raise Http404("No such table")
    table = tables[name]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}_{period["start"]}_{period["end"]}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    writer.writerows([[_cell(v) for v in row] for row in table.rows])
    return response


def _cell(value: object) -> object:
    if value is None:
        return ""
    # Cancel reasons are customer text: a leading = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
