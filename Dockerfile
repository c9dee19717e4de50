# Transit Watch: a small image that runs `python -m bot run` as a non-root user.
# Build: docker build -t transit-watch .
# Run:   docker run -e BOT_TOKEN=... -v transit-watch:/data transit-watch

FROM python:3.11-slim AS build
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY bot ./bot
COPY feeds.yaml ./

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --home-dir /app transitwatch \
    && mkdir /data \
    && chown transitwatch /data
WORKDIR /app
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_PATH=/data/transit-watch.sqlite3 \
    FEEDS_FILE=/app/feeds.yaml
USER 10001
VOLUME ["/data"]
# Healthy = the running bot wrote its heartbeat (every scheduler tick) within the last 3 minutes.
HEALTHCHECK --interval=60s --timeout=15s --start-period=90s --retries=3 \
    CMD ["python", "-m", "bot", "status", "--health"]
CMD ["python", "-m", "bot", "run"]
