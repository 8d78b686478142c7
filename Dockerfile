# Lifeline: build with `docker build -t lifeline .`, run with
#   docker run -d --name lifeline -v /srv/lifeline:/data \
#     -e SMTP_PASSWORD=... lifeline run -c /data/lifeline.yaml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LIFELINE_DB=sqlite:////data/lifeline.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY checks ./checks
COPY notifiers ./notifiers
RUN pip install ".[postgres]" && useradd --system --home /data --uid 10001 lifeline \
    && mkdir -p /data && chown lifeline /data

USER lifeline
VOLUME ["/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["lifeline"]
CMD ["run", "-c", "/data/lifeline.yaml"]
