# The self-hosted Assistants v2 server (`assistant-graph serve`) in a container.
#
#   docker build -t assistant-graph .
#   docker run --rm -p 127.0.0.1:8321:8321 -v assistant-graph-data:/data \
#     -e ASSISTANTS_SERVER_HOST=0.0.0.0 -e ASSISTANTS_SERVER_API_KEYS=change-me \
#     assistant-graph
#
# Configuration is the environment (README "Configuration"). The server binds 127.0.0.1 unless
# ASSISTANTS_SERVER_HOST says otherwise, so it is reachable from outside the container only
# after an explicit ASSISTANTS_SERVER_HOST=0.0.0.0 (set ASSISTANTS_SERVER_API_KEYS with it).
# The data dir (the server's SQLite store, conversations) is the volume /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ASSISTANT_GRAPH_HOME=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY graph ./graph
COPY tools ./tools
COPY assistants_server ./assistants_server
RUN pip install . \
    && useradd --create-home --uid 10001 assistant \
    && mkdir -p /data \
    && chown assistant /data

USER assistant
VOLUME ["/data"]
EXPOSE 8321
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('ASSISTANTS_SERVER_PORT', '8321'), timeout=4)"]

ENTRYPOINT ["assistant-graph"]
CMD ["serve"]
