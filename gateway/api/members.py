"""``/api/v1/channels/<id>/members``: who holds a role on a channel, and revoking an
invited member. Needs ``manage_members`` (admins and owners); share tokens never.

Owner and admin grants follow the channel's administrators in Telegram: revoking one
is 409 ``GRANT_NOT_REVOCABLE``.
"""

from __future__ import annotations

from quart import Blueprint
from quart_schema import document_response, security_scheme, tag_blueprint, validate_response

from analyticbot.runtime.rbac import Permission
from gateway.api import team_mapping
from gateway.api.access import channel_caller, grants_changed, parse_positive_id
from gateway.api.schemas import ErrorBody
from gateway.api.team_schemas import MemberList, Revoked
from gateway.state import gateway_state

blueprint = Blueprint("members", __name__, url_prefix="/api/v1/channels")
tag_blueprint(blueprint, ["team"])


@blueprint.get("/<channel_id>/members")
@security_scheme([{"bearer": []}])
@validate_response(MemberList, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def list_members(channel_id: str) -> MemberList:
    """Everyone holding a role on the channel, highest role first."""
    caller, cid = await channel_caller(channel_id, Permission.MANAGE_MEMBERS)
    response = await gateway_state().team.list_members(caller.token, cid)
    return MemberList(members=[team_mapping.member(m) for m in response.members])


@blueprint.delete("/<channel_id>/members/<user_id>")
@security_scheme([{"bearer": []}])
@validate_response(Revoked, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
async def revoke_member(channel_id: str, user_id: str) -> Revoked:
    """Remove an invited member's role. 404 ``MEMBER_NOT_FOUND`` when the user holds
    none; 409 ``GRANT_NOT_REVOCABLE`` for owners and admins (they change in Telegram)."""
    caller, cid = await channel_caller(channel_id, Permission.MANAGE_MEMBERS)
    uid = parse_positive_id(user_id, "INVALID_USER_ID", "user id")
    revoked = await gateway_state().team.revoke_grant(caller.token, cid, uid)
    grants_changed(uid)
    return Revoked(revoked=revoked)
