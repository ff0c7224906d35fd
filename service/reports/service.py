"""Daily information reports: the officer files the day's items (or nothing to report), the
group head approves or returns the report, and the enforcement team reads the compliance.

On approval each item in the 21 categories that has no incident yet is filed as one (source
daily inspection, reporter the community's information group), and every item is routed to
the department that leads its category or takes its matter: the enforcement team's own go to
the case workflow, the others are forwarded (由街道执法队转送相关部门).

A report counts as submitted when the head approves it; it is on time when that is by the
deadline (09:30 the next day by default, in the organisation), late after it, and missing while
the deadline has passed without it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo import crs as geocrs
from geo.errors import CoordinateError

from ..auth import service as auth_service
from ..auth.service import Principal
from ..core.audit import record
from ..core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from ..core.timezones import BEIJING
from ..incidents import service as incidents_service
from ..incidents.service import IncidentCreate, IntakeParams
from ..layers.service import ActiveLayer
from ..organisation import service as organisation_service
from ..organisation.service import Organisation
from . import store
from .models import DailyReport, ReportItem
from .schemas import (
    ComplianceDay,
    ComplianceRead,
    ComplianceTotals,
    DailyReportPut,
    DailyReportRead,
    ReportItemIn,
    ReportItemRead,
    ReportState,
)

__all__ = [
    "DailyReport",
    "ReportItem",
    "approve_report",
    "compliance",
    "deadline_of",
    "get_report",
    "put_report",
    "report_item",
    "report_read",
    "reports_of_days",
    "return_report",
    "submit_report",
]

URGENT_RULE_S: Final = 15 * 60.0  # urgent problems are reported within 15 minutes


def deadline_of(day: date, organisation: Organisation) -> datetime:
    """When the report of ``day`` is due: the organisation's time on the next day (Beijing)."""
    due = organisation_service.report_deadline(organisation)
    return datetime.combine(day + timedelta(days=1), due, tzinfo=BEIJING)


def _state(report: DailyReport | None, deadline: datetime, now: datetime) -> ReportState:
    if report is not None and report.approved_at is not None:
        return "on_time" if report.approved_at <= deadline else "late"
    return "pending" if now <= deadline else "missing"


def _community_row(layer: ActiveLayer, community: str) -> dict[str, str]:
    communities = layer.pack.communities
    match = communities[communities["code"].astype(str) == community]
    if match.empty:
        raise NotFoundError(
            "community",
            f"No community {community} in the active layer.",
            f"use one of {', '.join(sorted(communities['code'].astype(str)))}.",
        )
    row = match.iloc[0]
    return {"code": community, "name": str(row["name_zh"]), "squad": str(row["squad"])}


def _ensure_reads(principal: Principal, community: str, squad: str) -> None:
    scope = auth_service.incident_scope(principal)
    if (scope.community is not None and scope.community != community) or (
        scope.squad is not None and scope.squad != squad
    ):
        # Outside the reader's scope reads as absent, as incidents do.
        raise NotFoundError(
            "community",
            f"No report of community {community} for you to read.",
            "read your own community's (or squad's) reports.",
        )


def get_report(
    session: Session, principal: Principal, community: str, day: date, *, layer: ActiveLayer
) -> DailyReport | None:
    """The report if it exists (None otherwise), within the reader's scope."""
    row = _community_row(layer, community)
    _ensure_reads(principal, community, row["squad"])
    return store.report_of(session, community, day.isoformat())


def reports_of_days(session: Session, first: date, last: date) -> list[DailyReport]:
    """Every report of the days ``first`` .. ``last`` with its items, whatever its state."""
    return list(store.reports_between(session, first.isoformat(), last.isoformat()))


def report_item(session: Session, item_id: int) -> ReportItem | None:
    """One report item (with its report), or None."""
    return session.get(ReportItem, item_id)


def _stored(session: Session, community: str, day: date) -> DailyReport:
    report = store.report_of(session, community, day.isoformat(), lock=True)
    if report is None:
        raise NotFoundError(
            "day",
            f"Community {community} has no report of {day} yet.",
            f"the information officer files it with PUT /reports/daily/{community}/{day}.",
        )
    return report


def _item(
    session: Session,
    index: int,
    item_in: ReportItemIn,
    *,
    community: str,
    day: date,
    layer: ActiveLayer,
    prefix: str,
    now: datetime,
) -> ReportItem:
    field = f"items[{index}]"
    if item_in.category is not None:
        try:
            category = incidents_service.get_category(item_in.category).code
        except KeyError:
            raise InvalidInputError(
                f"{field}.category",
                f"{item_in.category!r} is not one of the 21 categories.",
                "use a code of GET /categories (C01-C21), or a matter for other departments.",
            ) from None
    else:
        category = None
    try:
        lon, lat = geocrs.to_wgs84(
            [item_in.location.lon], [item_in.location.lat], source=item_in.location.crs
        )
    except CoordinateError as exc:
        raise InvalidInputError(f"{field}.location", str(exc), "check lon/lat and crs.") from None
    where = layer.jurisdiction.resolve_one(float(lon[0]), float(lat[0]))
    if where.get("community_code") != community:
        raise InvalidInputError(
            f"{field}.location",
            f"Item {index + 1} lies in {where.get('community_code') or 'no community'}, not "
            f"in {community}: a group reports the problems of its own community.",
            "check the point (and its crs), or leave it to that community's group.",
        )
    seen = item_in.discovered_at.astimezone(BEIJING)
    if seen.date() != day or seen > now + timedelta(minutes=10):
        raise InvalidInputError(
            f"{field}.discovered_at",
            f"Item {index + 1} was seen {seen.isoformat(timespec='minutes')}, not on {day}.",
            f"give a time on {day} (Beijing time), or file it in that day's report.",
        )
    incident_id = None
    if item_in.incident is not None:
        try:
            incident = incidents_service.get_incident(
                session=session, incident_id=item_in.incident, prefix=prefix
            )
        except NotFoundError:
            raise InvalidInputError(
                f"{field}.incident",
                f"No incident {item_in.incident}.",
                "give the id of the incident filed for this item, or leave it out.",
            ) from None
        if incident.community_code != community or incident.category != category:
            raise InvalidInputError(
                f"{field}.incident",
                f"Incident {item_in.incident} is {incident.category} in "
                f"{incident.community_code}, not {category} in {community}.",
                "link the incident filed for this very item.",
            )
        incident_id = incident.id
    return ReportItem(
        seq=index + 1,
        category=category,
        matter=item_in.matter,
        description=item_in.description,
        lon=float(lon[0]),
        lat=float(lat[0]),
        discovered_at=item_in.discovered_at,
        urgent=item_in.urgent,
        incident_id=incident_id,
    )


def put_report(
    session: Session,
    principal: Principal,
    community: str,
    day: date,
    body: DailyReportPut,
    *,
    layer: ActiveLayer,
    prefix: str,
    now: datetime,
) -> DailyReport:
    """Save the officer's draft of the day (replacing its items); refused once submitted."""
    row = _community_row(layer, community)
    auth_service.ensure_community(principal, community)
    if day > now.astimezone(BEIJING).date():
        raise InvalidInputError(
            "day", f"{day} has not begun yet.", "file the report of today or a day before."
        )
    items = [
        _item(session, i, item, community=community, day=day, layer=layer, prefix=prefix, now=now)
        for i, item in enumerate(body.items)
    ]
    report = store.report_of(session, community, day.isoformat(), lock=True)
    before = None
    if report is None:
        report = DailyReport(
            community=community,
            squad=row["squad"],
            report_date=day.isoformat(),
            filed_by=principal.name,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(report)
                session.flush()
        except IntegrityError:
            raise ConflictError(
                "day",
                f"The report of {community} for {day} was created meanwhile.",
                "reload it and save again.",
            ) from None
    else:
        if report.status in ("submitted", "approved"):
            raise ConflictError(
                "day",
                f"The report of {community} for {day} is {report.status}; it can no longer be "
                "edited.",
                "ask the group head to return it (POST .../return) if it needs a change.",
            )
        before = {"status": report.status, "items": len(report.items)}
    report.items = items
    report.nothing_to_report = body.nothing_to_report
    report.status = "draft"
    report.filed_by = principal.name
    report.updated_at = now
    session.flush()
    record(
        session,
        actor=principal.name,
        action="daily_report_save",
        entity="daily_report",
        entity_id=report.id,
        before=before,
        after={"status": "draft", "items": len(items), "nothing": body.nothing_to_report},
        detail={"community": community, "day": day.isoformat()},
        at=now,
    )
    return report


def submit_report(
    session: Session,
    principal: Principal,
    community: str,
    day: date,
    *,
    layer: ActiveLayer,
    now: datetime,
) -> DailyReport:
    """Hand the draft to the group head."""
    _community_row(layer, community)  # an unknown community is a 404 for everyone
    auth_service.ensure_community(principal, community)
    report = _stored(session, community, day)
    if report.status not in ("draft", "returned"):
        raise ConflictError(
            "day",
            f"The report of {community} for {day} is already {report.status}.",
            "nothing to submit.",
        )
    report.status = "submitted"
    report.submitted_at = now
    report.updated_at = now
    record(
        session,
        actor=principal.name,
        action="daily_report_submit",
        entity="daily_report",
        entity_id=report.id,
        after={"status": "submitted"},
        at=now,
    )
    return report


def _submitted(
    session: Session,
    principal: Principal,
    community: str,
    day: date,
    verb: str,
    *,
    layer: ActiveLayer,
) -> DailyReport:
    _community_row(layer, community)
    auth_service.ensure_community(principal, community)
    report = _stored(session, community, day)
    if report.status != "submitted":
        raise ConflictError(
            "day",
            f"The report of {community} for {day} is {report.status}, so it cannot be {verb}.",
            "the information officer submits it first."
            if report.status in ("draft", "returned")
            else "nothing to do.",
        )
    if report.filed_by == principal.name:
        raise PermissionDeniedError(
            "day",
            "The person who filed a report does not check it.",
            "the group head approves or returns it.",
            permission="reports:approve",
        )
    return report


def approve_report(
    session: Session,
    principal: Principal,
    community: str,
    day: date,
    *,
    layer: ActiveLayer,
    organisation: Organisation,
    intake: IntakeParams,
    now: datetime,
) -> DailyReport:
    """Approve the report: file its category items as incidents, route every item."""
    report = _submitted(session, principal, community, day, "approved", layer=layer)
    filed = 0
    for item in report.items:
        code = item.category or item.matter
        assert code is not None
        item.routed_to = organisation_service.department_for(organisation, code)
        if item.category is None or item.incident_id is not None:
            continue
        created, _ = incidents_service.create_incident(
            session=session,
            incident_in=IncidentCreate(
                category=item.category,
                location={"lon": item.lon, "lat": item.lat, "crs": "wgs84"},
                occurred_at=item.discovered_at,
                reported_at=max(report.submitted_at or now, item.discovered_at),
                source="daily_inspection",
                reporter=f"info-group:{community}",
                urgent=item.urgent,
                description=item.description or f"daily report {community} {day}, item {item.seq}",
            ),
            actor=principal.name,
            jurisdiction=layer.jurisdiction,
            layer_version_id=layer.version_id,
            params=intake,
            fingerprint=f"daily-report:{report.id}:{item.seq}",
            layer_label=layer.label,
            squad_names=layer.squad_names,
        )
        item.incident_id = int(created.number)
        filed += 1
    report.status = "approved"
    report.approved_at = now
    report.approved_by = principal.name
    report.updated_at = now
    record(
        session,
        actor=principal.name,
        action="daily_report_approve",
        entity="daily_report",
        entity_id=report.id,
        after={"status": "approved", "incidents_filed": filed},
        detail={"routed": dict(Counter(i.routed_to for i in report.items))},
        at=now,
    )
    return report


def return_report(
    session: Session,
    principal: Principal,
    community: str,
    day: date,
    *,
    layer: ActiveLayer,
    note: str,
    now: datetime,
) -> DailyReport:
    """Send the report back to the officer with what to change."""
    report = _submitted(session, principal, community, day, "returned", layer=layer)
    report.status = "returned"
    report.returned_at = now
    report.returned_by = principal.name
    report.return_note = note
    report.updated_at = now
    record(
        session,
        actor=principal.name,
        action="daily_report_return",
        entity="daily_report",
        entity_id=report.id,
        after={"status": "returned"},
        detail={"note": note},
        at=now,
    )
    return report


# -- reads ------------------------------------------------------------------------------------


def _item_reads(session: Session, report: DailyReport, *, prefix: str) -> list[ReportItemRead]:
    out = []
    for item in report.items:
        incident = (
            incidents_service.get_incident(
                session=session, incident_id=item.incident_id, prefix=prefix
            )
            if item.incident_id is not None
            else None
        )
        reported = incident.reported_at if incident is not None else report.submitted_at
        delay = None if reported is None else (reported - item.discovered_at).total_seconds()
        out.append(
            ReportItemRead(
                id=item.id,
                seq=item.seq,
                category=item.category,
                matter=item.matter,
                lon=item.lon,
                lat=item.lat,
                discovered_at=item.discovered_at.astimezone(BEIJING),
                urgent=item.urgent,
                description=item.description,
                incident=incidents_service.public_id(incident, prefix=prefix) if incident else None,
                routed_to=item.routed_to,
                report_delay_s=None if delay is None else round(max(delay, 0.0), 1),
                within_15_min=None
                if not item.urgent
                else (delay is not None and delay <= URGENT_RULE_S),
            )
        )
    return out


def report_read(
    session: Session,
    report: DailyReport,
    *,
    layer: ActiveLayer,
    organisation: Organisation,
    prefix: str,
    now: datetime,
) -> DailyReportRead:
    """The report with its deadline, its state and each item's fate."""
    day = date.fromisoformat(report.report_date)
    deadline = deadline_of(day, organisation)
    items = _item_reads(session, report, prefix=prefix)

    def local(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(BEIJING)

    return DailyReportRead(
        community=report.community,
        community_name=_community_row(layer, report.community)["name"],
        squad=report.squad,
        date=day,
        status=report.status,
        state=_state(report, deadline, now),
        deadline=deadline,
        nothing_to_report=report.nothing_to_report,
        filed_by=report.filed_by,
        submitted_at=local(report.submitted_at),
        approved_at=local(report.approved_at),
        approved_by=report.approved_by,
        returned_at=local(report.returned_at),
        returned_by=report.returned_by,
        return_note=report.return_note,
        items=items,
        urgent_late=sum(1 for i in items if i.within_15_min is False),
    )


def compliance(
    session: Session,
    principal: Principal,
    *,
    start: date,
    end: date,
    layer: ActiveLayer,
    organisation: Organisation,
    prefix: str,
    now: datetime,
) -> ComplianceRead:
    """Each community's report of each day of ``start``..``end``: on time, late, missing or
    pending, with its items and late urgent items; and the totals per community."""
    if end < start:
        raise InvalidInputError("end", f"end {end} is before start {start}.", "swap them.")
    if (end - start).days > 366:
        raise InvalidInputError("end", "At most a year at a time.", "ask for a shorter period.")
    scope = auth_service.incident_scope(principal)
    communities = [
        r
        for r in layer.pack.communities.to_dict("records")
        if (scope.community is None or str(r["code"]) == scope.community)
        and (scope.squad is None or str(r["squad"]) == scope.squad)
    ]
    codes = [str(r["code"]) for r in communities]
    stored = {
        (r.community, r.report_date): r
        for r in store.reports_between(
            session, start.isoformat(), end.isoformat(), communities=codes
        )
    }
    days: list[ComplianceDay] = []
    totals: list[ComplianceTotals] = []
    for row in communities:
        code = str(row["code"])
        counts: Counter[str] = Counter()
        items = urgent_late = 0
        day = start
        while day <= end:
            report = stored.get((code, day.isoformat()))
            state = _state(report, deadline_of(day, organisation), now)
            late = 0
            if report is not None:
                late = sum(
                    1
                    for i in _item_reads(session, report, prefix=prefix)
                    if i.within_15_min is False
                )
            counts[state] += 1
            items += len(report.items) if report else 0
            urgent_late += late
            days.append(
                ComplianceDay(
                    community=code,
                    date=day,
                    state=state,
                    status=report.status if report else None,
                    items=len(report.items) if report else 0,
                    nothing_to_report=bool(report and report.nothing_to_report),
                    urgent_late=late,
                    approved_at=report.approved_at.astimezone(BEIJING)
                    if report and report.approved_at
                    else None,
                )
            )
            day += timedelta(days=1)
        due = counts["on_time"] + counts["late"] + counts["missing"]
        totals.append(
            ComplianceTotals(
                community=code,
                community_name=str(row["name_zh"]),
                squad=str(row["squad"]),
                on_time=counts["on_time"],
                late=counts["late"],
                missing=counts["missing"],
                pending=counts["pending"],
                items=items,
                urgent_late=urgent_late,
                on_time_share=round(counts["on_time"] / due, 4) if due else None,
            )
        )
    return ComplianceRead(
        start=start,
        end=end,
        deadline=organisation.report_deadline,
        days=days,
        totals=totals,
    )
