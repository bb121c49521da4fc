# syntax=docker/dockerfile:1
# One image for every deployable: `analyticbot serve collector|analytics|auth|gateway|bot`
# and `analyticbot migrate`. Build: docker build -t analyticbot:dev .
#
# Stages: the Mini App (Node), the Python venv plus generated gRPC code (build tools
# live here only), and a slim runtime that runs as UID 10001 and writes nothing outside
# /tmp, so Kubernetes can mount the root filesystem read-only.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS miniapp
WORKDIR /src/miniapp
COPY miniapp/package.json miniapp/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY miniapp/ ./
RUN npm run build

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# The code generator gets a venv of its own so it never reaches the runtime.
RUN python -m venv /opt/codegen \
 && /opt/codegen/bin/pip install grpcio-tools==1.85.1
WORKDIR /app
COPY proto/ proto/
RUN mkdir gen \
 && /opt/codegen/bin/python -m grpc_tools.protoc -Iproto \
      --python_out=gen --pyi_out=gen --grpc_python_out=gen \
      $(find proto -name '*.proto')
COPY pyproject.toml README.md ./
COPY analyticbot/ analyticbot/
COPY services/ services/
COPY gateway/ gateway/
COPY migrations/ migrations/
# An editable install points the venv at /app and /app/gen (hatch dev-mode-dirs), which
# keeps the source-tree layout the runtime relies on (migrations/, miniapp/dist).
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -e . \
 && /opt/venv/bin/python -m compileall -q /app/analyticbot /app/services /app/gateway /app/gen

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 analyticbot \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin analyticbot
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    ANALYTICBOT_ENV=production \
    ANALYTICBOT_MINIAPP_DIR=/app/miniapp/dist
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY --from=miniapp /src/miniapp/dist /app/miniapp/dist
WORKDIR /app
USER 10001:10001
EXPOSE 8080 50051 9100
ENTRYPOINT ["analyticbot"]
CMD ["serve", "gateway"]
