"""``GET /.well-known/jwks.json``: the public keys the gateway verifies tokens with.

The same set the auth service publishes (``GetJwks``), as held by the gateway's key
ring, so a client or a peer can verify our access tokens without asking auth. Caches may
keep it five minutes: a rotation publishes the new key before signing with it.
"""

from __future__ import annotations

from quart import Blueprint
from quart_schema import document_response, tag_blueprint, validate_response

from gateway.api.schemas import ErrorBody, Jwks
from gateway.state import gateway_state

blueprint = Blueprint("wellknown", __name__, url_prefix="/.well-known")
tag_blueprint(blueprint, ["auth"])

JWKS_CACHE = "public, max-age=300"


@blueprint.get("/jwks.json")
@validate_response(Jwks, 200)
@document_response(ErrorBody, 503)
async def jwks() -> tuple[Jwks, int, dict[str, str]]:
    """The JSON Web Key Set of the access tokens' signing keys."""
    document = await gateway_state().keys.public_jwks()
    return Jwks.model_validate(document), 200, {"Cache-Control": JWKS_CACHE}
