# digest in a container: `digest serve` (the scheduler) and `digest web` (under gunicorn) run
# from this one image; compose.yaml shows both. Configure it with DIGEST_<SECTION>__<KEY>
# variables and secrets as files (DIGEST_..._FILE); see the README's "Running it in production".

# --- build the wheel -----------------------------------------------------------------------------
FROM python:3.12-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY . .
RUN python -m build --wheel --outdir /dist

# --- the image -------------------------------------------------------------------------------
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A system user without a login or a home of its own; /data holds the SQLite database.
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin digest \
    && mkdir -p /data \
    && chown digest:digest /data
COPY --from=build /dist/ /tmp/dist/
RUN pip install "$(ls /tmp/dist/digest-*.whl)[server]" && rm -rf /tmp/dist
USER digest
WORKDIR /data
ENV DIGEST_DIGEST__DATABASE=sqlite:////data/digest.db \
    DIGEST_WEB__HOST=0.0.0.0 \
    DIGEST_WEB__PORT=8080
VOLUME ["/data"]
EXPOSE 8080
# The web process answers /healthz; the scheduler's service in compose.yaml checks itself instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["digest"]
CMD ["web"]
