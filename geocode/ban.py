"""Client for the BAN "API Adresse" and self-hosted addok: search, reverse and batch CSV.

Answers are checked before they are trusted: the body must be a GeoJSON FeatureCollection
(or the CSV that `/search/csv` returns), no larger than a cap, and every point must fall
inside France (metropole, Corsica and overseas). A point outside France is not a French
address, so it is reported as GeocoderBadResponse rather than returned or silently dropped.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Self
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from geocode.base import (
    AddressQuery,
    GeocodeError,
    GeocoderBadResponse,
    GeocoderConfigError,
    GeocodeResult,
    GeocoderRateLimited,
    GeocoderUnavailable,
    PlaceNotFound,
    Precision,
)
from geocode.ratelimit import TokenBucket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance-metadata endpoints of the usual clouds (AWS IMDS v4/v6 and ECS, GCP, Azure,
# Alibaba, Azure wireserver): a geocoder URL pointing there would leak credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
    )
)
METADATA_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
    }
)

# (south, north, west, east) in degrees: metropole with Corsica, then the overseas
# départements and collectivités the BAN covers or may cover one day.
FRANCE_BOUNDING_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (41.3, 51.2, -5.3, 9.7),  # metropole and Corsica
    (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    (14.3, 14.95, -61.3, -60.75),  # Martinique
    (2.0, 5.9, -54.7, -51.5),  # Guyane
    (-21.45, -20.8, 55.15, 55.9),  # La Réunion
    (-13.1, -12.55, 44.9, 45.35),  # Mayotte
    (46.7, 47.2, -56.5, -56.1),  # Saint-Pierre-et-Miquelon
    (17.8, 18.15, -63.2, -62.75),  # Saint-Martin, Saint-Barthélemy
    (-14.5, -13.1, -178.3, -176.0),  # Wallis-et-Futuna
    (-28.0, -7.5, -155.0, -134.0),  # Polynésie française
    (-23.0, -19.5, 163.5, 168.3),  # Nouvelle-Calédonie
)

PRECISION_BY_BAN_TYPE = {
    "housenumber": Precision.HOUSENUMBER,
    "street": Precision.STREET,
    "locality": Precision.LOCALITY,
    "municipality": Precision.MUNICIPALITY,
}

# The BAN codes addresses of Paris, Lyon and Marseille by arrondissement, while
# directories often give the commune's own code.
ARRONDISSEMENT_CODES: dict[str, frozenset[str]] = {
    "75056": frozenset(f"751{n:02d}" for n in range(1, 21)),
    "69123": frozenset(f"6938{n}" for n in range(1, 10)),
    "13055": frozenset(f"132{n:02d}" for n in range(1, 17)),
}

QUERY_MIN_LENGTH = 3
QUERY_MAX_LENGTH = 200
CSV_QUERY_COLUMNS = ("street", "postcode", "city")
CSV_FIELDNAMES = ("row", "street", "postcode", "city", "citycode")


def _package_version() -> str:
    try:
        return version("ess-atlas")
    except PackageNotFoundError:
        return "dev"


USER_AGENT = f"ess-atlas/{_package_version()} (+https://github.com/ess-atlas)"


@dataclass(frozen=True)
class BanOptions:
    """Limits and politeness settings of a BanGeocoder; the defaults suit the public API."""

    requests_per_second: float = 50.0
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    batch_read_timeout: float = 120.0
    max_attempts: int = 4
    backoff_seconds: float = 0.5
    max_retry_after_seconds: float = 30.0
    max_response_bytes: int = 2 * 1024 * 1024
    max_batch_response_bytes: int = 64 * 1024 * 1024
    batch_size: int = 1000
    proxy: str | None = None
    user_agent: str = USER_AGENT


class GeocoderServerError(GeocoderUnavailable):
    """The service kept answering with a 5xx status."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class _Retry:
    """A failed attempt that may be tried again after `delay` seconds."""

    error: GeocoderUnavailable
    delay: float


# --------------------------------------------------------------------------- base URL


def validate_base_url(url: str) -> str:
    """Return `url` normalised (no trailing slash) or raise GeocoderConfigError."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise GeocoderConfigError(f"geocoder URL must be http or https, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise GeocoderConfigError("geocoder URL must not carry credentials")
    if parts.query or parts.fragment:
        raise GeocoderConfigError(f"geocoder URL must not have a query or fragment: {url!r}")
    _port(parts, url)
    host = (parts.hostname or "").rstrip(".")
    _check_host(host, url)
    return urlunsplit((scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def _port(parts: SplitResult, url: str) -> int | None:
    try:
        return parts.port
    except ValueError as exc:
        raise GeocoderConfigError(f"geocoder URL has an invalid port: {url!r}") from exc


def _check_host(host: str, url: str) -> None:
    if not host:
        raise GeocoderConfigError(f"geocoder URL has no host: {url!r}")
    if host.lower() in METADATA_HOSTNAMES:
        raise GeocoderConfigError(f"geocoder URL points at a cloud metadata service: {url!r}")
    address = _literal_address(host)
    if address is not None and _is_forbidden_address(address):
        raise GeocoderConfigError(
            f"geocoder URL points at a link-local or metadata address: {url!r}"
        )


def _literal_address(host: str) -> IPAddress | None:
    """Read `host` as an IP address, including legacy forms resolvers accept (0xA9FEA9FE)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _is_forbidden_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _is_forbidden_address(address.ipv4_mapped)
        address = ipaddress.IPv6Address(int(address))  # drops a %zone suffix
    return (
        address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address in METADATA_ADDRESSES
    )


# --------------------------------------------------------------------------- answers


def is_in_france(lat: float, lon: float) -> bool:
    """Tell whether the point lies in one of France's bounding boxes."""
    return any(
        south <= lat <= north and west <= lon <= east
        for south, north, west, east in FRANCE_BOUNDING_BOXES
    )


def feature_to_result(feature: object, source: str = "ban") -> GeocodeResult:
    """Turn one BAN GeoJSON feature into a GeocodeResult, or raise GeocoderBadResponse."""
    if not isinstance(feature, dict):
        raise GeocoderBadResponse("feature is not an object")
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise GeocoderBadResponse("feature has no properties object")
    lon, lat = _point_coordinates(feature.get("geometry"))
    return _checked_result(
        lat=lat,
        lon=lon,
        label=_required_text(properties, "label"),
        score=_number(properties.get("score"), "score"),
        ban_type=properties.get("type"),
        source=source,
        citycode=_optional_text(properties, "citycode"),
        postcode=_optional_text(properties, "postcode"),
    )


def _checked_result(
    *,
    lat: float,
    lon: float,
    label: str,
    score: float,
    ban_type: object,
    source: str,
    citycode: str | None,
    postcode: str | None,
) -> GeocodeResult:
    if not is_in_france(lat, lon):
        raise GeocoderBadResponse(f"point ({lat}, {lon}) for {label!r} is outside France")
    return GeocodeResult(
        lat=lat,
        lon=lon,
        label=label,
        score=score,
        precision=_precision(ban_type),
        source=source,
        citycode=citycode,
        postcode=postcode,
    )


def _point_coordinates(geometry: object) -> tuple[float, float]:
    """(lon, lat) of a GeoJSON Point; 0.0 is a valid coordinate, missing is not."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise GeocoderBadResponse("feature geometry is not a Point")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise GeocoderBadResponse("Point has no [lon, lat] coordinates")
    return _number(coordinates[0], "longitude"), _number(coordinates[1], "latitude")


def _number(value: object, name: str) -> float:
    """Read a finite float from a JSON number or a numeric CSV cell."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise GeocoderBadResponse(f"{name} is not a number: {value!r}")
    try:
        number = float(value)
    except ValueError as exc:
        raise GeocoderBadResponse(f"{name} is not a number: {value!r}") from exc
    if not math.isfinite(number):
        raise GeocoderBadResponse(f"{name} is not finite: {value!r}")
    return number


def _precision(ban_type: object) -> Precision:
    if not isinstance(ban_type, str) or ban_type not in PRECISION_BY_BAN_TYPE:
        raise GeocoderBadResponse(f"unknown result type {ban_type!r}")
    return PRECISION_BY_BAN_TYPE[ban_type]


def _required_text(properties: Mapping[str, object], key: str) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not value.strip():
        raise GeocoderBadResponse(f"feature has no {key}")
    return value


def _optional_text(properties: Mapping[str, object], key: str) -> str | None:
    value = properties.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise GeocoderBadResponse(f"{key} is not text: {value!r}")
    return value


def parse_feature_collection(body: bytes) -> list[object]:
    """Return the features of a GeoJSON FeatureCollection body, or raise GeocoderBadResponse."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise GeocoderBadResponse(f"answer is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise GeocoderBadResponse("answer is not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise GeocoderBadResponse("FeatureCollection has no features list")
    return features


def csv_row_to_answer(row: Mapping[str, str | None], source: str = "ban") -> GeocodeResult:
    """Turn one row of a /search/csv answer into a GeocodeResult; empty result → PlaceNotFound."""
    label = row.get("result_label") or ""
    if not label or not row.get("latitude") or not row.get("longitude"):
        raise PlaceNotFound("ban: no match above the service's minimum score")
    return _checked_result(
        lat=_number(row.get("latitude"), "latitude"),
        lon=_number(row.get("longitude"), "longitude"),
        label=label,
        score=_number(row.get("result_score"), "result_score"),
        ban_type=row.get("result_type"),
        source=source,
        citycode=row.get("result_citycode") or None,
        postcode=row.get("result_postcode") or None,
    )


# --------------------------------------------------------------------------- queries


def query_text(query: AddressQuery) -> str:
    """Build the free-text `q` sent for `query`: street, postcode and city."""
    parts = (query.street, query.postcode, query.city)
    text = " ".join(" ".join(part.split()) for part in parts if part and part.strip())
    return text[:QUERY_MAX_LENGTH]


def _too_short(text: str) -> PlaceNotFound:
    return PlaceNotFound(f"ban: query {text!r} is too short to search")


def same_commune(expected: str, actual: str | None) -> bool:
    """Tell whether INSEE code `actual` is commune `expected` or one of its arrondissements."""
    if actual == expected:
        return True
    arrondissements = ARRONDISSEMENT_CODES.get(expected)
    return actual is not None and arrondissements is not None and actual in arrondissements


def _citycode_filter(query: AddressQuery) -> str | None:
    """Pick the citycode to filter on; Paris, Lyon, Marseille are checked afterwards."""
    if not query.citycode or query.citycode.strip() in ARRONDISSEMENT_CODES:
        return None
    return query.citycode.strip()


def _contradiction(query: AddressQuery, result: GeocodeResult) -> str | None:
    """Why `result` does not satisfy the citycode of `query`, if it does not."""
    expected = (query.citycode or "").strip()
    if expected and not same_commune(expected, result.citycode):
        return f"ban: best match {result.label!r} is in commune {result.citycode}, not {expected}"
    return None


def _csv_payload(numbered: Sequence[tuple[int, AddressQuery]]) -> bytes:
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(CSV_FIELDNAMES)
    for row_number, query in numbered:
        cells = (query.street, query.postcode, query.city, _citycode_filter(query))
        writer.writerow([str(row_number), *(" ".join((cell or "").split()) for cell in cells)])
    return output.getvalue().encode("utf-8")


def _parse_csv_answer(body: bytes) -> dict[int, dict[str, str | None]]:
    """Rows of a /search/csv answer by the `row` number we sent."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GeocoderBadResponse(f"CSV answer is not UTF-8: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or "row" not in reader.fieldnames:
        raise GeocoderBadResponse("CSV answer has no header with our row column")
    rows: dict[int, dict[str, str | None]] = {}
    for row in reader:
        rows[_row_number(row.get("row"))] = row
    return rows


def _row_number(cell: str | None) -> int:
    if cell is None or not cell.isdigit():
        raise GeocoderBadResponse(f"CSV answer has a bad row number: {cell!r}")
    return int(cell)


def _chunks(
    items: Sequence[tuple[int, AddressQuery]], size: int
) -> Iterator[Sequence[tuple[int, AddressQuery]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- client


class BanGeocoder:
    """The BAN API Adresse (or a self-hosted addok) as a Geocoder, with a batch CSV path."""

    source = "ban"

    def __init__(
        self,
        base_url: str,
        options: BanOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self.options = options or BanOptions()
        self.identity = f"ban:{self.base_url}"
        self._sleep = sleep
        self._bucket = TokenBucket(self.options.requests_per_second)
        self._csv_filters_work: bool | None = None
        self._filters_lock = threading.Lock()
        self._client = httpx.Client(
            base_url=self.base_url,
            follow_redirects=False,
            headers={"User-Agent": self.options.user_agent},
            timeout=httpx.Timeout(self.options.read_timeout, connect=self.options.connect_timeout),
            proxy=self.options.proxy,
            trust_env=False,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    @property
    def csv_filters_supported(self) -> bool | None:
        """Whether /search/csv accepted filter columns; None until a filtered upload was tried."""
        return self._csv_filters_work

    # ---------------------------------------------------------------- single queries

    def geocode(self, query: AddressQuery) -> GeocodeResult:
        """Best BAN match for `query` (citycode, when given, is a filter)."""
        text = query_text(query)
        if len(text) < QUERY_MIN_LENGTH:
            raise _too_short(text)
        results = self.search(text, citycode=_citycode_filter(query), limit=1)
        if not results:
            raise PlaceNotFound(f"ban: no match for {text!r}")
        contradiction = _contradiction(query, results[0])
        if contradiction:
            raise PlaceNotFound(contradiction)
        return results[0]

    def search(
        self,
        q: str,
        *,
        postcode: str | None = None,
        citycode: str | None = None,
        type: str | None = None,
        limit: int = 5,
    ) -> list[GeocodeResult]:
        """Call /search and return its features as results, best first."""
        params: dict[str, str | int] = {"q": q[:QUERY_MAX_LENGTH], "limit": limit}
        params["autocomplete"] = 0
        filters = {"postcode": postcode, "citycode": citycode, "type": type}
        params.update({name: value for name, value in filters.items() if value})
        body = self._send("GET", "/search", params=params)
        return [
            feature_to_result(feature, self.source) for feature in parse_feature_collection(body)
        ]

    def reverse(self, lat: float, lon: float) -> GeocodeResult:
        """Nearest BAN address to (lat, lon)."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError(f"reverse needs finite coordinates, got ({lat}, {lon})")
        body = self._send("GET", "/reverse", params={"lat": lat, "lon": lon, "limit": 1})
        features = parse_feature_collection(body)
        if not features:
            raise PlaceNotFound(f"ban: nothing near ({lat}, {lon})")
        return feature_to_result(features[0], self.source)

    # ---------------------------------------------------------------- batch

    def geocode_many(self, queries: Sequence[AddressQuery]) -> list[GeocodeResult | GeocodeError]:
        """Geocode `queries` in chunks through /search/csv; one answer or error per query."""
        answers: dict[int, GeocodeResult | GeocodeError] = {}
        searchable: list[tuple[int, AddressQuery]] = []
        for index, query in enumerate(queries):
            if len(query_text(query)) < QUERY_MIN_LENGTH:
                answers[index] = _too_short(query_text(query))
            else:
                searchable.append((index, query))
        answers.update(self._batch_answers(searchable))
        return [answers[index] for index in range(len(queries))]

    def _batch_answers(
        self, searchable: Sequence[tuple[int, AddressQuery]]
    ) -> dict[int, GeocodeResult | GeocodeError]:
        """Answers chunk by chunk; once the service is down, later chunks are not sent."""
        answers: dict[int, GeocodeResult | GeocodeError] = {}
        outage: GeocoderUnavailable | None = None
        for chunk in _chunks(searchable, self.options.batch_size):
            chunk_answers = [outage] * len(chunk) if outage else self._chunk_answers(chunk)
            answers.update(zip((index for index, _ in chunk), chunk_answers, strict=True))
            outage = outage or _first_outage(chunk_answers)
        return answers

    def _chunk_answers(
        self, chunk: Sequence[tuple[int, AddressQuery]]
    ) -> Sequence[GeocodeResult | GeocodeError]:
        try:
            rows = _parse_csv_answer(self._post_csv(chunk))
        except (GeocoderUnavailable, GeocoderBadResponse) as error:
            return [error] * len(chunk)
        return [self._row_answer(query, rows.get(index)) for index, query in chunk]

    def _row_answer(
        self, query: AddressQuery, row: Mapping[str, str | None] | None
    ) -> GeocodeResult | GeocodeError:
        if row is None:
            return GeocoderBadResponse("CSV answer lost this row")
        try:
            result = csv_row_to_answer(row, self.source)
        except (PlaceNotFound, GeocoderBadResponse) as error:
            return error
        contradiction = _contradiction(query, result)
        return PlaceNotFound(contradiction) if contradiction else result

    def _post_csv(self, chunk: Sequence[tuple[int, AddressQuery]]) -> bytes:
        """POST one chunk; filter columns only while the server copes with them.

        addok-csv 1.1.0 answers 500 to any filter column (its row filter indexes a dict
        with the list addok 1.3 now gives). On a 500 to a filtered upload we stop sending
        filters and check each answer's citycode ourselves (see `_row_answer`).
        """
        payload = _csv_payload(chunk)
        if self._should_send_filters(chunk):
            try:
                return self._upload_csv(payload, with_filters=True, attempts=1)
            except GeocoderServerError as error:
                self._record_filter_failure(error)
            except GeocoderUnavailable:
                pass
        return self._upload_csv(payload, with_filters=False)

    def _should_send_filters(self, chunk: Sequence[tuple[int, AddressQuery]]) -> bool:
        return self._csv_filters_work is not False and any(
            _citycode_filter(query) for _, query in chunk
        )

    def _record_filter_failure(self, error: GeocoderServerError) -> None:
        if error.status_code == 500:
            with self._filters_lock:
                self._csv_filters_work = False

    def _upload_csv(
        self, payload: bytes, *, with_filters: bool, attempts: int | None = None
    ) -> bytes:
        form: dict[str, Any] = {"columns": list(CSV_QUERY_COLUMNS)}
        if with_filters:
            form["citycode"] = "citycode"
        body = self._send(
            "POST",
            "/search/csv",
            attempts=attempts,
            data=form,
            files={"data": ("rows.csv", payload, "text/csv")},
            timeout=httpx.Timeout(
                self.options.batch_read_timeout, connect=self.options.connect_timeout
            ),
        )
        if with_filters:
            with self._filters_lock:
                self._csv_filters_work = True
        return body

    # ---------------------------------------------------------------- transport

    def _send(
        self, method: str, path: str, *, attempts: int | None = None, **request: Any
    ) -> bytes:
        """Send with rate limiting, retries on 429/5xx/timeouts, and a size cap."""
        limit = max(1, attempts or self.options.max_attempts)
        cap = self._size_cap(path)
        outcome = self._attempt(method, path, 0, cap, request)
        for attempt in range(1, limit):
            if isinstance(outcome, bytes):
                return outcome
            self._sleep(outcome.delay)
            outcome = self._attempt(method, path, attempt, cap, request)
        if isinstance(outcome, bytes):
            return outcome
        raise outcome.error

    def _size_cap(self, path: str) -> int:
        if path.startswith("/search/csv"):
            return self.options.max_batch_response_bytes
        return self.options.max_response_bytes

    def _attempt(
        self, method: str, path: str, attempt: int, cap: int, request: dict[str, Any]
    ) -> bytes | _Retry:
        self._bucket.acquire()
        try:
            with self._client.stream(method, path, **request) as response:
                if response.status_code == httpx.codes.OK:
                    return _read_capped(response, cap)
                return self._failed_attempt(response, attempt)
        except httpx.TimeoutException as exc:
            error = GeocoderUnavailable(f"ban: {method} {path} timed out ({type(exc).__name__})")
        except httpx.TransportError as exc:
            error = GeocoderUnavailable(f"ban: {method} {path} failed: {exc!r}")
        return _Retry(error, self._backoff(attempt))

    def _failed_attempt(self, response: httpx.Response, attempt: int) -> _Retry:
        status = response.status_code
        where = f"{response.request.method} {response.request.url.path}"
        if status == httpx.codes.TOO_MANY_REQUESTS:
            delay = self._retry_after(response.headers.get("Retry-After"), attempt)
            return _Retry(GeocoderRateLimited(f"ban: {where} rate limited (429)"), delay)
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            error = GeocoderServerError(f"ban: {where} answered {status}", status)
            return _Retry(error, self._backoff(attempt))
        if response.is_redirect:
            location = response.headers.get("Location", "?")
            raise GeocoderBadResponse(
                f"ban: {where} redirects ({status}) to {location}; redirects are not followed, "
                "fix the geocoder URL"
            )
        raise GeocoderBadResponse(f"ban: {where} answered {status}")

    def _backoff(self, attempt: int) -> float:
        return float(self.options.backoff_seconds * 2**attempt)

    def _retry_after(self, header: str | None, attempt: int) -> float:
        """Seconds the Retry-After header asks for (delay or HTTP date), capped."""
        delay = retry_after_seconds(header)
        if delay is None:
            delay = self._backoff(attempt)
        return min(max(delay, 0.0), self.options.max_retry_after_seconds)


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header (seconds or HTTP date); None when absent or unreadable."""
    if header is None or not header.strip():
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


def _read_capped(response: httpx.Response, cap: int) -> bytes:
    """Read the body, refusing to hold more than `cap` bytes of it."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise GeocoderBadResponse(f"ban: answer of {declared} bytes exceeds the {cap}-byte cap")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > cap:
            raise GeocoderBadResponse(f"ban: answer exceeds the {cap}-byte cap")
    return bytes(body)


def _first_outage(
    answers: Sequence[GeocodeResult | GeocodeError],
) -> GeocoderUnavailable | None:
    for answer in answers:
        if isinstance(answer, GeocoderUnavailable):
            return answer
    return None
