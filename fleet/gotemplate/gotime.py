"""Go's time package as Sprig's date functions use it: layouts, durations, time values.

Go formats dates by example (``2006-01-02 15:04:05``) and prints durations as ``1h30m0s``;
Python's strftime and timedelta do neither, so the layout tokens and the duration syntax are
re-implemented here for ``date``, ``dateInZone``, ``toDate``, ``dateModify``, ``duration`` and
friends.
"""

from __future__ import annotations

import datetime as dt
import re
import time as _time
import zoneinfo
from typing import Any

from fleet.gotemplate import values
from fleet.gotemplate.errors import FuncError

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class GoTime(values.GoObject):
    """A time.Time: an aware datetime plus nanoseconds (Python keeps microseconds)."""

    go_type = "time.Time"
    go_kind = "struct"

    def __init__(self, moment: dt.datetime, nanosecond: int | None = None) -> None:
        self.moment = moment
        self.nanosecond = moment.microsecond * 1000 if nanosecond is None else nanosecond

    def __str__(self) -> str:
        return format_time(self, "2006-01-02 15:04:05.999999999 -0700 MST")

    def __repr__(self) -> str:
        return f"GoTime({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and self.unix_nano() == other.unix_nano()

    def __hash__(self) -> int:
        return hash(self.unix_nano())

    def unix(self) -> int:
        return int(self.moment.timestamp() // 1)

    def unix_nano(self) -> int:
        seconds = int(self.moment.replace(microsecond=0).timestamp())
        return seconds * SECOND + self.nanosecond

    def is_zero(self) -> bool:
        return (
            self.moment.year == 1
            and self.moment.month == 1
            and self.moment.day == 1
            and self.moment.hour == 0
            and self.moment.minute == 0
            and self.moment.second == 0
            and self.nanosecond == 0
        )

    def go_methods(self) -> dict[str, Any]:
        from fleet.gotemplate.gofunc import STRING, GoFunc

        return {
            "Unix": GoFunc("Unix", lambda: values.Int64(self.unix())),
            "UnixNano": GoFunc("UnixNano", lambda: values.Int64(self.unix_nano())),
            "Year": GoFunc("Year", lambda: self.moment.year),
            "Day": GoFunc("Day", lambda: self.moment.day),
            "Hour": GoFunc("Hour", lambda: self.moment.hour),
            "Minute": GoFunc("Minute", lambda: self.moment.minute),
            "Second": GoFunc("Second", lambda: self.moment.second),
            "Nanosecond": GoFunc("Nanosecond", lambda: self.nanosecond),
            "YearDay": GoFunc("YearDay", lambda: self.moment.timetuple().tm_yday),
            "IsZero": GoFunc("IsZero", self.is_zero),
            "UTC": GoFunc("UTC", lambda: GoTime(self.moment.astimezone(dt.UTC), self.nanosecond)),
            "Format": GoFunc("Format", lambda layout: format_time(self, layout), (STRING,)),
            "String": GoFunc("String", lambda: str(self)),
        }


def now() -> GoTime:
    nanos = _time.time_ns()
    moment = dt.datetime.fromtimestamp(nanos // SECOND, tz=local_zone()).replace(
        microsecond=(nanos % SECOND) // 1000
    )
    return GoTime(moment, nanos % SECOND)


def from_unix(seconds: int, zone: dt.tzinfo | None = None) -> GoTime:
    try:
        moment = dt.datetime.fromtimestamp(seconds, tz=zone or local_zone())
    except (OverflowError, OSError, ValueError):
        raise FuncError("time out of range") from None
    return GoTime(moment, 0)


ZERO_TIME = GoTime(dt.datetime(1, 1, 1, tzinfo=dt.UTC), 0)


def local_zone() -> dt.tzinfo:
    """Go's time.Local: the process's zone (TZ, else /etc/localtime, else UTC)."""
    try:
        return dt.datetime.now().astimezone().tzinfo or dt.UTC
    except (OSError, ValueError):  # pragma: no cover - a broken zone database
        return dt.UTC


def load_location(name: str) -> dt.tzinfo | None:
    """time.LoadLocation: "" and "UTC" are UTC, "Local" the process zone, else an IANA name."""
    if name in ("", "UTC"):
        return dt.UTC
    if name == "Local":
        return local_zone()
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        return None


def in_zone(moment: GoTime, zone: dt.tzinfo) -> GoTime:
    return GoTime(moment.moment.astimezone(zone), moment.nanosecond)


# -- layouts -------------------------------------------------------------------------------------

# Go's std zone layout elements, longest first so that a prefix never wins over the whole.
_ZONE_TOKENS = (
    "Z07:00:00",
    "Z070000",
    "Z07:00",
    "Z0700",
    "Z07",
    "-07:00:00",
    "-070000",
    "-07:00",
    "-0700",
    "-07",
)


def _next_token(layout: str, index: int) -> str | None:
    """The layout element starting at ``index`` (Go's nextStdChunk), or None for a literal."""
    rest = layout[index:]
    ch = rest[:1]
    if ch == "J":
        if rest.startswith("January"):
            return "January"
        if rest.startswith("Jan"):
            return "Jan"
    elif ch == "M":
        if rest.startswith("Monday"):
            return "Monday"
        if rest.startswith("Mon"):
            return "Mon"
        if rest.startswith("MST"):
            return "MST"
    elif ch == "0":
        if rest[1:2] in ("1", "2", "3", "4", "5", "6"):
            return rest[:2]
        if rest.startswith("002"):
            return "002"
    elif ch == "1":
        if rest.startswith("15"):
            return "15"
        return "1"
    elif ch == "2":
        if rest.startswith("2006"):
            return "2006"
        return "2"
    elif ch == "_":
        if rest.startswith("_2"):
            if rest.startswith("_2006"):
                return None  # "_2006" is a literal underscore then the year
            return "_2"
        if rest.startswith("__2"):
            return "__2"
    elif ch in ("3", "4", "5"):
        return ch
    elif ch == "P":
        if rest.startswith("PM"):
            return "PM"
    elif ch == "p":
        if rest.startswith("pm"):
            return "pm"
    elif ch in ("-", "Z"):
        for token in _ZONE_TOKENS:
            if rest.startswith(token):
                return token
    elif ch in (".", ","):
        match = re.match(r"[.,](0+|9+)", rest)
        if match and not (
            index + len(match.group(0)) < len(layout) and layout[index + len(match.group(0))].isdigit()
        ):
            return match.group(0)
    return None


def _tokens(layout: str) -> list[tuple[bool, str]]:
    """Split a layout into (is_token, text) pieces."""
    pieces: list[tuple[bool, str]] = []
    literal: list[str] = []
    index = 0
    while index < len(layout):
        token = _next_token(layout, index)
        if token is None:
            literal.append(layout[index])
            index += 1
            continue
        if literal:
            pieces.append((False, "".join(literal)))
            literal = []
        pieces.append((True, token))
        index += len(token)
    if literal:
        pieces.append((False, "".join(literal)))
    return pieces


def _zone_name(moment: dt.datetime) -> str:
    name = moment.tzname() or ""
    if name and (name[0] in "+-" or (name.startswith("UTC") and len(name) > 3)):
        offset = moment.utcoffset() or dt.timedelta()
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        return f"{sign}{minutes // 60:02d}" + (f"{minutes % 60:02d}" if minutes % 60 else "")
    return name


def format_time(value: GoTime, layout: str) -> str:
    """time.Time.Format(layout)."""
    moment = value.moment
    out: list[str] = []
    for is_token, text in _tokens(layout):
        if not is_token:
            out.append(text)
            continue
        out.append(_format_token(moment, value.nanosecond, text))
    return "".join(out)


def _format_token(moment: dt.datetime, nanos: int, token: str) -> str:
    hour12 = moment.hour % 12 or 12
    if token == "2006":
        return f"{moment.year:04d}"
    if token == "06":
        return f"{moment.year % 100:02d}"
    if token == "01":
        return f"{moment.month:02d}"
    if token == "1":
        return str(moment.month)
    if token == "January":
        return _MONTHS[moment.month - 1]
    if token == "Jan":
        return _MONTHS[moment.month - 1][:3]
    if token == "02":
        return f"{moment.day:02d}"
    if token == "2":
        return str(moment.day)
    if token == "_2":
        return f"{moment.day:2d}"
    if token == "002":
        return f"{moment.timetuple().tm_yday:03d}"
    if token == "__2":
        return f"{moment.timetuple().tm_yday:3d}"
    if token == "15":
        return f"{moment.hour:02d}"
    if token == "03":
        return f"{hour12:02d}"
    if token == "3":
        return str(hour12)
    if token == "04":
        return f"{moment.minute:02d}"
    if token == "4":
        return str(moment.minute)
    if token == "05":
        return f"{moment.second:02d}"
    if token == "5":
        return str(moment.second)
    if token == "PM":
        return "PM" if moment.hour >= 12 else "AM"
    if token == "pm":
        return "pm" if moment.hour >= 12 else "am"
    if token == "Monday":
        return _DAYS[moment.weekday()]
    if token == "Mon":
        return _DAYS[moment.weekday()][:3]
    if token == "MST":
        return _zone_name(moment)
    if token[0] in "-Z":
        offset = int((moment.utcoffset() or dt.timedelta()).total_seconds())
        if token[0] == "Z" and offset == 0:
            return "Z"
        sign = "-" if offset < 0 else "+"
        offset = abs(offset)
        hours, minutes, seconds = offset // 3600, (offset // 60) % 60, offset % 60
        body = token[1:]
        if body == "07":
            return f"{sign}{hours:02d}"
        if body == "0700":
            return f"{sign}{hours:02d}{minutes:02d}"
        if body == "07:00":
            return f"{sign}{hours:02d}:{minutes:02d}"
        if body == "070000":
            return f"{sign}{hours:02d}{minutes:02d}{seconds:02d}"
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    if token[0] in ".,":
        digits = len(token) - 1
        fraction = f"{nanos:09d}"[:digits]
        if token[1] == "9":
            fraction = fraction.rstrip("0")
            return token[0] + fraction if fraction else ""
        return token[0] + fraction
    return token


def parse_time(layout: str, text: str, zone: dt.tzinfo) -> GoTime:
    """time.ParseInLocation for the common layout elements."""
    year, month, day, hour, minute, second, nanos = 1, 1, 1, 0, 0, 0, 0
    pm: bool | None = None
    offset: int | None = None
    index = 0
    quoted_value = _go_quote(text)
    quoted_layout = _go_quote(layout)

    def fail(elem: str) -> FuncError:
        return FuncError(
            f"parsing time {quoted_value} as {quoted_layout}: cannot parse "
            f"{_go_quote(text[index:])} as {_go_quote(elem)}"
        )

    for is_token, elem in _tokens(layout):
        if not is_token:
            if not text.startswith(elem, index):
                raise fail(elem)
            index += len(elem)
            continue

        def number(min_len: int, max_len: int, elem: str = elem) -> int:
            nonlocal index
            match = re.match(rf"\d{{{min_len},{max_len}}}", text[index:])
            if not match:
                raise fail(elem)
            index += len(match.group(0))
            return int(match.group(0))

        if elem == "2006":
            year = number(4, 4)
        elif elem == "06":
            year = number(2, 2)
            year += 1900 if year >= 69 else 2000
        elif elem in ("01", "1"):
            month = number(2 if elem == "01" else 1, 2)
        elif elem in ("January", "Jan"):
            names = _MONTHS if elem == "January" else [m[:3] for m in _MONTHS]
            for position, name in enumerate(names):
                if text[index : index + len(name)].lower() == name.lower():
                    month = position + 1
                    index += len(name)
                    break
            else:
                raise fail(elem)
        elif elem in ("Monday", "Mon"):
            names = _DAYS if elem == "Monday" else [d[:3] for d in _DAYS]
            for name in names:
                if text[index : index + len(name)].lower() == name.lower():
                    index += len(name)
                    break
            else:
                raise fail(elem)
        elif elem in ("02", "2", "_2"):
            if elem == "_2" and text[index : index + 1] == " ":
                index += 1
            day = number(2 if elem == "02" else 1, 2)
        elif elem in ("002", "__2"):
            number(1, 3)
        elif elem == "15":
            hour = number(1, 2)
        elif elem in ("03", "3"):
            hour = number(2 if elem == "03" else 1, 2)
        elif elem in ("04", "4"):
            minute = number(2 if elem == "04" else 1, 2)
        elif elem in ("05", "5"):
            second = number(2 if elem == "05" else 1, 2)
            match = re.match(r"[.,](\d+)", text[index:])
            if match and not layout_has_fraction(layout):
                nanos = int((match.group(1) + "000000000")[:9])
                index += len(match.group(0))
        elif elem in ("PM", "pm"):
            marker = text[index : index + 2].upper()
            if marker not in ("AM", "PM"):
                raise fail(elem)
            pm = marker == "PM"
            index += 2
        elif elem == "MST":
            match = re.match(r"[A-Z]{3,5}|[+-]\d+", text[index:])
            if not match:
                raise fail(elem)
            index += len(match.group(0))
            if match.group(0) == "UTC":
                offset = 0
        elif elem[0] in "-Z":
            if elem[0] == "Z" and text[index : index + 1] == "Z":
                index += 1
                offset = 0
                continue
            match = re.match(r"([+-])(\d{2}):?(\d{2})?(?::?(\d{2}))?", text[index:])
            if not match:
                raise fail(elem)
            index += len(match.group(0))
            seconds = int(match.group(2)) * 3600 + int(match.group(3) or 0) * 60 + int(match.group(4) or 0)
            offset = -seconds if match.group(1) == "-" else seconds
        elif elem[0] in ".,":
            match = re.match(r"[.,](\d+)", text[index:])
            if match:
                nanos = int((match.group(1) + "000000000")[:9])
                index += len(match.group(0))
            elif elem[1] == "0":
                raise fail(elem)
    if index != len(text):
        raise FuncError(f"parsing time {quoted_value}: extra text: {_go_quote(text[index:])}")
    if pm is not None:
        if hour > 12:
            raise FuncError(f"parsing time {quoted_value}: hour out of range")
        if pm and hour < 12:
            hour += 12
        elif not pm and hour == 12:
            hour = 0
    try:
        tzinfo: dt.tzinfo = zone if offset is None else dt.timezone(dt.timedelta(seconds=offset))
        moment = dt.datetime(year, month, day, hour, minute, second, nanos // 1000, tzinfo=tzinfo)
    except ValueError:
        raise FuncError(f"parsing time {quoted_value}: day out of range") from None
    return GoTime(moment, nanos)


def layout_has_fraction(layout: str) -> bool:
    return any(is_token and text[0] in ".," for is_token, text in _tokens(layout))


def _go_quote(text: str) -> str:
    from fleet.gotemplate import gofmt

    return gofmt.quote(text)


# -- durations -----------------------------------------------------------------------------------

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "µs": MICROSECOND,
    "μs": MICROSECOND,
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_DURATION_PART = re.compile(r"(\d*)(\.\d*)?(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """time.ParseDuration: "1h30m", "-1.5s", "300ms" -> nanoseconds."""
    original = text
    negative = False
    if text[:1] in "+-":
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise FuncError(f"time: invalid duration {_go_quote(original)}")
    total = 0
    index = 0
    while index < len(text):
        match = _DURATION_PART.match(text, index)
        if not match or (not match.group(1) and not (match.group(2) or "").strip(".")):
            if match is None and re.match(r"[\d.]+", text[index:]):
                raise FuncError(f"time: missing unit in duration {_go_quote(original)}")
            if match is None:
                raise FuncError(f"time: invalid duration {_go_quote(original)}")
            raise FuncError(f"time: invalid duration {_go_quote(original)}")
        whole = int(match.group(1) or 0)
        fraction = match.group(2) or ""
        unit = _UNITS[match.group(3)]
        amount = whole * unit
        if len(fraction) > 1:
            amount += int(fraction[1:]) * unit // 10 ** (len(fraction) - 1)
        total += amount
        index = match.end()
        if total > (1 << 63) - 1:
            raise FuncError(f"time: invalid duration {_go_quote(original)}")
    return -total if negative else total


def format_duration(nanos: int) -> str:
    """time.Duration.String(): "1h2m3.5s", "1.5ms", "0s"."""
    if nanos == 0:
        return "0s"
    negative = nanos < 0
    magnitude = -nanos if negative else nanos
    if magnitude < SECOND:
        if magnitude < MICROSECOND:
            text = f"{magnitude}ns"
        elif magnitude < MILLISECOND:
            text = _fraction(magnitude, 3) + "µs"
        else:
            text = _fraction(magnitude, 6) + "ms"
    else:
        seconds_part = _fraction(magnitude % MINUTE, 9) + "s"
        total_minutes = magnitude // MINUTE
        if total_minutes:
            hours, minutes = divmod(total_minutes, 60)
            text = (f"{hours}h" if hours else "") + f"{minutes}m" + seconds_part
        else:
            text = seconds_part
    return "-" + text if negative else text


def _fraction(value: int, precision: int) -> str:
    whole, frac = divmod(value, 10**precision)
    digits = f"{frac:0{precision}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def round_duration(nanos: int, multiple: int) -> int:
    """Duration.Round: to the nearest multiple, halfway away from zero."""
    if multiple <= 0:
        return nanos
    remainder = abs(nanos) % multiple
    magnitude = abs(nanos) - remainder
    if remainder + remainder >= multiple:
        magnitude += multiple
    return magnitude if nanos >= 0 else -magnitude


def since(moment: GoTime) -> int:
    return _time.time_ns() - moment.unix_nano()
