"""``/api/v1/channels/<id>/alert-rules`` and ``/alerts``: the caller's own alert rules
on a channel and the alerts they raised.

Reading needs ``view_analytics`` (a user sees only their own rules and alerts), creating
and deleting rules ``manage_alerts`` — the same permissions analytics applies. Rules
belong to users: a share token gets 403 on its own channel.
"""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
    validate_request,
    validate_response,
)

from analyticbot.analytics.v1 import alerts_pb2
from analyticbot.runtime.rbac import Permission
from gateway.api import insight_mapping
from gateway.api.access import channel_caller, parse_positive_id
from gateway.api.alert_schemas import AlertList, AlertRule, AlertRuleList, AlertsQuery, NewAlertRule
from gateway.api.schemas import ErrorBody
from gateway.keys import Caller
from gateway.openapi import raw_response
from gateway.state import gateway_state

blueprint = Blueprint("alerts", __name__, url_prefix="/api/v1/channels")
tag_blueprint(blueprint, ["alerts"])


async def _allowed(channel_id: str, permission: Permission) -> tuple[Caller, int]:
    return await channel_caller(channel_id, permission)


@blueprint.get("/<channel_id>/alert-rules")
@security_scheme([{"bearer": []}])
@validate_response(AlertRuleList, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def list_alert_rules(channel_id: str) -> AlertRuleList:
    """The caller's alert rules on the channel, oldest first."""
    caller, cid = await _allowed(channel_id, Permission.VIEW_ANALYTICS)
    response = await gateway_state().analytics.list_alert_rules(caller.token, cid)
    return AlertRuleList(rules=[insight_mapping.alert_rule(r) for r in response.rules])


@blueprint.post("/<channel_id>/alert-rules")
@security_scheme([{"bearer": []}])
@validate_request(NewAlertRule)
@validate_response(AlertRule, 201)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def create_alert_rule(channel_id: str, data: NewAlertRule) -> tuple[AlertRule, int]:
    """Add an alert rule of the caller; no threshold takes the kind's default."""
    caller, cid = await _allowed(channel_id, Permission.MANAGE_ALERTS)
    message = alerts_pb2.CreateAlertRuleRequest(
        channel_id=cid, kind=insight_mapping.ALERT_KINDS[data.kind]
    )
    if data.threshold is not None:
        message.threshold = data.threshold
    response = await gateway_state().analytics.create_alert_rule(caller.token, message)
    return insight_mapping.alert_rule(response.rule), 201


@blueprint.delete("/<channel_id>/alert-rules/<rule_id>")
@security_scheme([{"bearer": []}])
@raw_response(204, "The rule is deleted.")
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def delete_alert_rule(channel_id: str, rule_id: str) -> Response:
    """Remove one of the caller's rules; 404 ``ALERT_RULE_NOT_FOUND`` if there is none."""
    caller, cid = await _allowed(channel_id, Permission.MANAGE_ALERTS)
    rid = parse_positive_id(rule_id, "INVALID_RULE_ID", "rule id")
    await gateway_state().analytics.delete_alert_rule(caller.token, cid, rid)
    return Response(status=204)


@blueprint.get("/<channel_id>/alerts")
@security_scheme([{"bearer": []}])
@validate_querystring(AlertsQuery)
@validate_response(AlertList, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def list_alerts(channel_id: str, query_args: AlertsQuery) -> AlertList:
    """Alerts raised by the caller's rules on the channel, newest first; pass
    ``next_cursor`` back as ``cursor`` for older ones."""
    caller, cid = await _allowed(channel_id, Permission.VIEW_ANALYTICS)
    message = alerts_pb2.ListAlertsRequest(
        channel_id=cid,
        page_size=query_args.limit,
        before_sequence=int(query_args.cursor) if query_args.cursor else 0,
    )
    response = await gateway_state().analytics.list_alerts(caller.token, message)
    return insight_mapping.alert_list(response, query_args.limit)
