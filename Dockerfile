# Image of the connector and the processors (one image, two commands; see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY connector ./connector
COPY schemas ./schemas
RUN pip install --no-cache-dir .
USER 65534
ENTRYPOINT ["agent-connector", "--log-format", "json"]
