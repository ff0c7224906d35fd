"""The roles of the plan and what each may do: one table, read by the permission check, the
console (which buttons to show), the README and the route-table test.

A permission is ``noun:verb``. Scoped roles carry their scope: an information officer acts
within one community, a squad leader within one squad; the checks of that scope are in
:mod:`service.auth.service`.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "ROLE_TITLES",
    "STEP_PERMISSIONS",
    "Role",
    "permissions_of",
]

Role = Literal[
    "info_officer",
    "group_head",
    "squad_leader",
    "dispatcher",
    "case_team",
    "backup_team",
    "leader",
    "admin",
]
ROLES: Final[tuple[str, ...]] = get_args(Role)
DEVICE: Final = "device"  # a unit's handheld, not a person

ROLE_TITLES: Final[dict[str, str]] = {
    "info_officer": "信息员 information officer",
    "group_head": "信息组组长 information group head (社区民警)",
    "squad_leader": "中队长 squad leader",
    "dispatcher": "值班调度 dispatcher",
    "case_team": "案件组 case team",
    "backup_team": "应急分队 backup team",
    "leader": "领导 leader",
    "admin": "系统管理员 administrator",
    DEVICE: "执勤终端 unit device",
}

PERMISSIONS: Final[dict[str, str]] = {
    "self:read": "see who one is signed in as; sign out",
    "reference:read": "categories, layer versions, the active layer, resolve a point",
    "map:read": "the jurisdiction map",
    "incidents:create": "file an incident",
    "incidents:read": "read incidents, their timeline, assignments and clocks",
    "reporter:read": "see the reporter of an incident",
    "units:read": "read units, the roster and recommended units",
    "units:track": "read a unit's track",
    "units:create": "create a unit",
    "units:status": "change a unit's status",
    "units:positions": "post a unit's positions",
    "roster:write": "set who is on duty in a shift",
    "dispatch:assign": "assign, reassign and cancel units",
    "cases:step": "record a step of a case (each step needs its own permission below)",
    "cases:advance": "on scene and handled",
    "cases:review": "accept, reject, mark duplicate, verify and close, reopen, park",
    "backup:request": "call for backup",
    "backup:read": "read backup requests",
    "backup:ack": "acknowledge a backup request",
    "plans:create": "plan and re-plan a squad's shift",
    "plans:read": "read plans, their maps, exports and dosage",
    "hotspots:read": "hot-spot analysis, campaign targets and the hot-spot map",
    "console:open": "the dispatcher's console",
    "audit:read": "the audit log and its export",
    "users:manage": "create, disable users and set passwords",
    "devices:manage": "issue and revoke units' device tokens",
    "apikeys:manage": "issue and revoke Open311 keys",
    "layers:write": "activate a layer version",
    "reports:file": "file the community's daily information report",
    "reports:approve": "approve or return the community's daily report (the group head)",
    "reports:read": "read daily reports and their compliance (on time, late, missing)",
    "organisation:write": "edit the organisation: groups, posts, departments and what they lead",
    "statistics:read": "case statistics (GB/T 30428 indicators) and the cases behind them",
    "casefiles:read": "case files (案卷): documents, photos, timeline, outcome; typical cases",
    "casefiles:write": "archive case files, add documents, mark typical cases (典型案例)",
    "ledger:read": "the rewards and penalties ledger: statements and lines (an officer's own)",
    "ledger:dispute": "dispute an item the ledger counts as missed by oneself",
    "ledger:review": "spot-check findings, resolve disputes, propose one-off awards",
    "ledger:approve": "approve or refuse a proposed award (not one's own proposal)",
}

_EVERYONE: Final = {"self:read", "reference:read"}
_READS: Final = {p for p in PERMISSIONS if p.endswith(":read")} | {"units:track", "console:open"}

ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "info_officer": frozenset(
        # The console too: the officer follows what their community reported (no units).
        _EVERYONE
        | {
            "incidents:create",
            "incidents:read",
            "map:read",
            "console:open",
            "reports:file",
            "reports:read",
            "ledger:read",
            "ledger:dispute",
        }
    ),
    # The community police officer heads the information group and checks its daily report.
    "group_head": frozenset(
        _EVERYONE
        | {
            "incidents:read",
            "map:read",
            "console:open",
            "reports:approve",
            "reports:read",
            "ledger:read",
        }
    ),
    "squad_leader": frozenset(
        _EVERYONE
        | {
            "incidents:read",
            "map:read",
            "units:read",
            "units:track",
            "units:create",
            "roster:write",
            "plans:create",
            "plans:read",
            "hotspots:read",
            "console:open",
            "reports:read",
            "statistics:read",
        }
    ),
    "dispatcher": frozenset(
        _EVERYONE
        | {
            "incidents:create",
            "incidents:read",
            "reporter:read",
            "map:read",
            "units:read",
            "units:track",
            "units:status",
            "dispatch:assign",
            "cases:step",
            "cases:advance",
            "backup:request",
            "backup:read",
            "plans:read",
            "hotspots:read",
            "console:open",
            "reports:read",
        }
    ),
    "case_team": frozenset(
        _EVERYONE
        | {
            "incidents:read",
            "reporter:read",
            "map:read",
            "cases:step",
            "cases:advance",  # a case handled at the desk is recorded handled by the team
            "cases:review",
            "hotspots:read",
            "console:open",
            "reports:read",
            "statistics:read",
            "casefiles:read",
            "casefiles:write",
            "ledger:read",
            "ledger:review",
        }
    ),
    "backup_team": frozenset(_EVERYONE | {"backup:read", "backup:ack"}),
    # The office grants the awards: a leader approves what the case team proposes.
    "leader": frozenset(_EVERYONE | (_READS - {"reporter:read"}) | {"ledger:approve"}),
    "admin": frozenset(
        _EVERYONE
        | {
            "users:manage",
            "devices:manage",
            "apikeys:manage",
            "layers:write",
            "units:create",
            "audit:read",
            "organisation:write",
        }
    ),
    DEVICE: frozenset({"units:positions", "units:status"}),
}

# Which permission each case step needs (POST /incidents/{id}/events declares cases:step).
STEP_PERMISSIONS: Final[dict[str, str]] = {
    "on_scene": "cases:advance",
    "handled": "cases:advance",
    "accepted": "cases:review",
    "rejected": "cases:review",
    "duplicate": "cases:review",
    "verified_closed": "cases:review",
    "reopened": "cases:review",
    "parked": "cases:review",
    "unparked": "cases:review",
}

# Roles bound to one community or one squad.
COMMUNITY_ROLES: Final = frozenset({"info_officer", "group_head"})
SQUAD_ROLES: Final = frozenset({"squad_leader"})


def permissions_of(role: str) -> frozenset[str]:
    """What ``role`` may do (nothing for an unknown role)."""
    return ROLE_PERMISSIONS.get(role, frozenset())
