"""The public HTTP gateway: JSON API, OpenAPI, security headers and the Mini App."""
