# crmseg as a container image: `crmseg` is the entrypoint, the state lives on
# the volume /var/lib/crmseg, the CRM secret comes from the environment at run
# time (never from the image).
#
#   docker build -t crmseg:0.1.0 .
#   docker run --rm crmseg:0.1.0 demo
#   docker run --rm -e HUBSPOT_ACCESS_TOKEN -v crmseg-state:/var/lib/crmseg \
#       -v "$PWD/deploy/crmseg.toml:/etc/crmseg/crmseg.toml:ro" \
#       crmseg:0.1.0 sync --config /etc/crmseg/crmseg.toml --log-format json

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the package is built from: nothing else of the work tree (a local
# .env, a state file, a virtual environment) can reach the image.
COPY pyproject.toml README.md LICENSE NOTICE ./
COPY connectors ./connectors
COPY segmentation ./segmentation
COPY sync ./sync
RUN python -m venv /opt/crmseg \
    && /opt/crmseg/bin/pip install --no-cache-dir /src

FROM python:3.11-slim-bookworm
# A fixed uid/gid, so a Kubernetes securityContext or a host volume can name it.
RUN groupadd --system --gid 10001 crmseg \
    && useradd --system --uid 10001 --gid crmseg --home-dir /var/lib/crmseg \
       --no-create-home --shell /usr/sbin/nologin crmseg \
    && install -d -o crmseg -g crmseg -m 0750 /var/lib/crmseg
COPY --from=build /opt/crmseg /opt/crmseg
# XDG_DATA_HOME puts crmseg's default state file at /var/lib/crmseg/state.duckdb,
# on the volume, for a config without a [state] path.
ENV PATH=/opt/crmseg/bin:$PATH \
    XDG_DATA_HOME=/var/lib \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
VOLUME ["/var/lib/crmseg"]
WORKDIR /var/lib/crmseg
USER 10001:10001
# crmseg itself is PID 1 (exec form, no shell in between), so the SIGTERM of
# `docker stop` or a pod's termination reaches it directly and it stops cleanly.
ENTRYPOINT ["crmseg"]
CMD ["--help"]
