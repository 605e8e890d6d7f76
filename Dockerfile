# syntax=docker/dockerfile:1
# Multi-stage: build every wheel with the compilers, run on a slim image as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY geocode ./geocode
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# The code reads its shipped data from data/ beside the source tree, so the tree is copied
# as it is and put first on the path; the installed wheels give the dependencies and the
# `ess-atlas` command.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/opt/ess-atlas \
    ESS_DATA_DIR=/opt/ess-atlas/data \
    ESS_DATABASE_URL=sqlite:////var/lib/ess-atlas/ess-atlas.sqlite3 \
    ESS_GEOCODER_CACHE_PATH=/var/lib/ess-atlas/geocode-cache.sqlite3
RUN useradd --system --create-home --uid 10001 atlas \
    && mkdir -p /var/lib/ess-atlas && chown atlas /var/lib/ess-atlas
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY app /opt/ess-atlas/app
COPY geocode /opt/ess-atlas/geocode
COPY data /opt/ess-atlas/data
USER atlas
WORKDIR /var/lib/ess-atlas
VOLUME ["/var/lib/ess-atlas"]
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["ess-atlas", "serve", "--host", "0.0.0.0", "--port", "8000"]
