"""Reports as HTML (Jinja2 templates in ``templates/``), CSV and JSON.

JSON is the model's contract (see ``monthly`` and ``inspection``). CSV:

- monthly: a *long* table ``section,key,field,value`` holding every figure of
  the report, so one file parses with any CSV reader and pivots in a
  spreadsheet: ``summary,all,mttr_s,5400``, ``severity,P1,response_rate,0.75``,
  ``device,prn-0001,pages_printed,1234``, ``incident,42,resolve_met,false``;
  empty value = no figure (nothing to divide);
- inspection: one row per device (columns in ``INSPECTION_COLUMNS``).

HTML is self-contained (inline CSS, no scripts, no external links) so it
reads the same as an e-mail body, a saved file or behind the web UI.
Times are shown in the ``tz`` passed in (UTC by default).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2

from collector.reports.inspection import InspectionReport
from collector.reports.monthly import MonthlyReport

Format = Literal["html", "csv", "json"]
FORMATS: tuple[Format, ...] = ("html", "csv", "json")
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
TEMPLATES = Path(__file__).parent / "templates"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def fmt_duration(seconds: float | None) -> str:
    """Readable span: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 3600:
        return f"{m} min"
    if s < 86400:
        return f"{h} h {m % 60:02d} min"
    return f"{d} d {h % 24} h"


def fmt_number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}".replace(",", " ")


def _env(tz: str) -> jinja2.Environment:
    zone = ZoneInfo(tz)

    def fmt_time(dt: datetime | None) -> str:
        return "—" if dt is None else dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_pct, dur=fmt_duration, num=fmt_number, time=fmt_time)
    env.globals["tz"] = tz
    return env


def monthly_html(report: MonthlyReport, tz: str = "UTC") -> str:
    return _env(tz).get_template("monthly.html.j2").render(r=report)


def inspection_html(report: InspectionReport, tz: str = "UTC") -> str:
    return _env(tz).get_template("inspection.html.j2").render(r=report)


def to_json(report: MonthlyReport | InspectionReport) -> str:
    return json.dumps(report.contract(), indent=2, ensure_ascii=False) + "\n"


# -- CSV -----------------------------------------------------------------------------------------------------


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e6 else f"{v:.0f}"
    return str(v)


def _flat(prefix: str, obj: Any) -> Iterator[tuple[str, Any]]:
    """Nested dicts -> ("response_rate", 0.75) pairs (lists are handled by the caller)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flat(f"{prefix}_{k}" if prefix else k, v)
    else:
        yield prefix, obj


def monthly_rows(report: MonthlyReport) -> Iterator[tuple[str, str, str, Any]]:
    c = report.contract()
    for k in ("start", "end", "observed_end"):
        yield "period", "", k, c["period"][k]
    yield "scope", "", "site", c["scope"]["site"]
    yield "scope", "", "department", c["scope"]["department"]
    yield "report", "", "generated_at", c["generated_at"]
    for field, v in _flat("", c["summary"]):
        yield "summary", "all", field, v
    for section, key in (("severity", "by_severity"), ("type", "by_type"), ("tier", "by_tier")):
        for g in c[key]:
            for field, v in _flat("", {k: v for k, v in g.items() if k != "key"}):
                yield section, g["key"], field, v
    for section, key in (("site", "by_site"), ("department", "by_department")):
        for name, n in c[key].items():
            yield section, name, "opened", n
    for d in c["devices"]:
        for field, v in d.items():
            if field in ("device", "supplies_replaced"):
                continue
            yield "device", d["device"], field, v
        yield "device", d["device"], "supplies_replaced", len(d["supplies_replaced"])
        for s in d["supplies_replaced"]:
            yield "supply_replaced", d["device"], s["supply"], s["at"]
    for rank, t in enumerate(c["top_devices"], 1):
        yield "top_device", str(rank), "device", t["device"]
        yield "top_device", str(rank), "faults", t["faults"]
    for r in c["repeat_faults"]:
        yield "repeat_fault", str(r["number"]), "at", r["at"]
    for verdict in ("within", "breached"):
        for i in c["sla"][verdict]:
            yield "incident", str(i["number"]), "sla", verdict
            for field, v in i.items():
                if field != "number":
                    yield "incident", str(i["number"]), field, v


def monthly_csv(report: MonthlyReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "field", "value"])
    for section, key, field, v in monthly_rows(report):
        w.writerow([section, key, field, _cell(v)])
    return buf.getvalue()


INSPECTION_COLUMNS = (
    "device",
    "site",
    "department",
    "kind",
    "vendor",
    "model",
    "location",
    "status",
    "reachable",
    "last_seen",
    "pages_24h",
    "page_counter",
    "lowest_supply",
    "supplies",
    "open_incidents",
    "abnormal",
)


def inspection_csv(report: InspectionReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INSPECTION_COLUMNS)
    for d in report.devices:
        supplies = "; ".join(
            f"{s.description} {_cell(s.percent)}%" if s.percent is not None else f"{s.description} {s.state}"
            for s in d.supplies
        )
        lowest = min((s.remaining for s in d.supplies if s.remaining is not None), default=None)
        w.writerow(
            [
                d.device,
                d.site or "",
                d.department or "",
                d.kind or "",
                d.vendor or "",
                d.model or "",
                d.location or "",
                d.status,
                _cell(d.reachable),
                _cell(d.last_seen.isoformat().replace("+00:00", "Z") if d.last_seen else None),
                _cell(d.pages_24h),
                _cell(d.page_counter),
                _cell(lowest),
                supplies,
                " ".join(f"#{i.number}" for i in d.open_incidents),
                "; ".join(d.abnormal),
            ]
        )
    return buf.getvalue()


def render(report: MonthlyReport | InspectionReport, fmt: Format, tz: str = "UTC") -> str:
    """One entry point for the CLI, the scheduler and HTTP routes."""
    if fmt == "json":
        return to_json(report)
    if isinstance(report, MonthlyReport):
        return monthly_html(report, tz) if fmt == "html" else monthly_csv(report)
    return inspection_html(report, tz) if fmt == "html" else inspection_csv(report)
