"""Invites: ``/api/v1/channels/<id>/invites`` (create, list, revoke; ``invite_members``,
admins and owners) and ``POST /api/v1/invites/accept`` (any user).

An invite grants analyst or viewer to whoever opens its link: the Mini App receives the
payload ``inv_...`` as ``start_param`` and posts it to ``accept``. The payload is a
secret: it is shown once, at creation, and never logged.
"""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_request,
    validate_response,
)

from analyticbot.runtime.rbac import Permission
from gateway.api import team_mapping
from gateway.api.access import channel_caller, grants_changed, parse_positive_id, user_caller
from gateway.api.mapping import role
from gateway.api.schemas import ErrorBody
from gateway.api.team_schemas import (
    AcceptedInvite,
    AcceptInvite,
    CreatedInvite,
    InviteList,
    NewInvite,
    Revoked,
)
from gateway.errors import APIError
from gateway.state import gateway_state

blueprint = Blueprint("invites", __name__, url_prefix="/api/v1")
tag_blueprint(blueprint, ["team"])


@blueprint.get("/channels/<channel_id>/invites")
@security_scheme([{"bearer": []}])
@validate_response(InviteList, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def list_invites(channel_id: str) -> InviteList:
    """The channel's live invites (neither revoked, expired nor used up), newest first."""
    caller, cid = await channel_caller(channel_id, Permission.INVITE_MEMBERS)
    response = await gateway_state().team.list_invites(caller.token, cid)
    return InviteList(invites=[team_mapping.invite(i) for i in response.invites])


@blueprint.post("/channels/<channel_id>/invites")
@security_scheme([{"bearer": []}])
@validate_request(NewInvite)
@validate_response(CreatedInvite, 201)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def create_invite(channel_id: str, data: NewInvite) -> tuple[CreatedInvite, int]:
    """A new invite; its payload (and t.me link, when configured) is shown only here."""
    caller, cid = await channel_caller(channel_id, Permission.INVITE_MEMBERS)
    state = gateway_state()
    valid_for = (
        timedelta(seconds=data.valid_for_seconds) if data.valid_for_seconds is not None else None
    )
    response = await state.team.create_invite(
        caller.token, cid, team_mapping.INVITABLE_ROLES[data.role], data.single_use, valid_for
    )
    settings = state.settings
    url = team_mapping.invite_url(
        settings.bot_username, settings.bot_app_short_name, response.start_param
    )
    created = CreatedInvite(
        invite=team_mapping.invite(response.invite), payload=response.start_param, url=url
    )
    return created, 201


@blueprint.delete("/channels/<channel_id>/invites/<invite_id>")
@security_scheme([{"bearer": []}])
@validate_response(Revoked, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def revoke_invite(channel_id: str, invite_id: str) -> Revoked:
    """Make a live invite of the channel unusable. 404 ``INVITE_NOT_FOUND`` when the
    channel has no such live invite."""
    caller, cid = await channel_caller(channel_id, Permission.INVITE_MEMBERS)
    iid = parse_positive_id(invite_id, "INVALID_INVITE_ID", "invite id")
    team = gateway_state().team
    # Auth revokes by id alone, authorizing on the invite's own channel: the path's
    # channel must be that channel too.
    live = await team.list_invites(caller.token, cid)
    if all(i.invite_id != iid for i in live.invites):
        raise APIError(404, "INVITE_NOT_FOUND", "invite not found")
    return Revoked(revoked=await team.revoke_invite(caller.token, iid))


@blueprint.post("/invites/accept")
@security_scheme([{"bearer": []}])
@validate_request(AcceptInvite)
@validate_response(AcceptedInvite, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 409)
async def accept_invite(data: AcceptInvite) -> AcceptedInvite:
    """Take the invite's role on its channel (a higher role already held is kept).
    409 ``INVITE_UNUSABLE`` when it is unknown, revoked, expired or used up."""
    caller = await user_caller()
    response = await gateway_state().team.accept_invite(caller.token, data.payload)
    if caller.principal.user_id is not None:
        grants_changed(caller.principal.user_id)
    return AcceptedInvite(
        channel_id=response.channel_id, role=role(response.role), title=response.title
    )
