# syntax=docker/dockerfile:1
# Stage 1 builds the ess-atlas wheel as `python -m build` does, then the wheel of every
# dependency (compilers and network only here). Stage 2 installs those wheels and nothing
# else: no source tree, no PYTHONPATH; the shipped data is inside the installed packages.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir "build>=1.2,<2"
COPY pyproject.toml README.md LICENSE ./
COPY data/README.md ./data/README.md
COPY app ./app
COPY geocode ./geocode
RUN python -m build --wheel --outdir /dist . \
    && pip wheel --no-cache-dir --wheel-dir /wheels /dist/ess_atlas-*.whl

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ESS_DATABASE_URL=sqlite:////var/lib/ess-atlas/ess-atlas.sqlite3 \
    ESS_GEOCODER_CACHE_PATH=/var/lib/ess-atlas/geocode-cache.sqlite3 \
    ESS_EXPORT_DIR=/var/lib/ess-atlas/exports
# exports/ exists in the image so that a named volume mounted there starts owned by atlas.
RUN useradd --system --create-home --uid 10001 atlas \
    && mkdir -p /var/lib/ess-atlas/exports && chown -R atlas /var/lib/ess-atlas
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels ess-atlas \
    && rm -rf /wheels
# The wheel carries both in its dist-info/licenses; here they are where Debian puts them.
COPY LICENSE /usr/share/doc/ess-atlas/LICENSE
COPY data/README.md /usr/share/doc/ess-atlas/data-sources-and-licences.md
USER atlas
WORKDIR /var/lib/ess-atlas
VOLUME ["/var/lib/ess-atlas"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["ess-atlas", "serve", "--host", "0.0.0.0", "--port", "8000"]
