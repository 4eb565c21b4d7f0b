# Image of the connector and the processors (one image, two commands; see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY connector ./connector
COPY schemas ./schemas
RUN pip install --no-cache-dir .
RUN mkdir -p /data && chown 65534 /data
USER 65534
ENTRYPOINT ["agent-connector", "--log-format", "json"]
