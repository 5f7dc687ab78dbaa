"""Go's ``fmt`` package for template values: ``Sprint``, ``Sprintln``, ``Sprintf``.

Templates print every value through fmt (``{{ .x }}`` is ``fmt.Fprint``) and ``printf`` is
``fmt.Sprintf``, so the output of a rendered Application depends on these rules: floats print
in their shortest form with Go's exponent threshold (``1e+06``, ``1.5``), maps print as
``map[a:1 b:2]`` with sorted keys, and a verb that does not fit its operand prints
``%!d(string=x)`` rather than failing. Python's ``%`` formatting differs in all of these, hence a
port of the rules (not of the code) here.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from fleet.gotemplate import values

_MAX_WIDTH = 1_000_000  # Go's tooLarge: wider or more precise than this is treated as invalid


# ---------------------------------------------------------------------------------------------
# strconv


def _is_print(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space.
    # Python's str.isprintable() draws the same line (it also rejects Zs other than U+0020).
    return ch == " " or ch.isprintable()


def _escape_rune(ch: str, quote: str, ascii_only: bool, out: list[str]) -> None:
    code = ord(ch)
    if ch == quote or ch == "\\":
        out.append("\\" + ch)
        return
    if 0xDC80 <= code <= 0xDCFF:  # a byte of invalid UTF-8, kept by surrogateescape
        out.append(f"\\x{code - 0xDC00:02x}")
        return
    if ascii_only:
        if code < 0x80 and _is_print(ch):
            out.append(ch)
            return
    elif _is_print(ch):
        out.append(ch)
        return
    simple = _SIMPLE_ESCAPES.get(ch)
    if simple is not None:
        out.append(simple)
    elif code < 0x20 or code == 0x7F:
        out.append(f"\\x{code:02x}")
    elif 0xD800 <= code <= 0xDFFF:
        out.append("\\ufffd")
    elif code < 0x10000:
        out.append(f"\\u{code:04x}")
    else:
        out.append(f"\\U{code:08x}")


_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def quote(text: str, *, ascii_only: bool = False) -> str:
    """strconv.Quote (or QuoteToASCII): a double-quoted Go string literal."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    out = ['"']
    for ch in text:
        _escape_rune(ch, '"', ascii_only, out)
    out.append('"')
    return "".join(out)


def quote_rune(code: int, *, ascii_only: bool = False) -> str:
    """strconv.QuoteRune: a single-quoted Go rune literal."""
    if code < 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        code = 0xFFFD
    out = ["'"]
    _escape_rune(chr(code), "'", ascii_only, out)
    out.append("'")
    return "".join(out)


def can_backquote(text: str) -> bool:
    """strconv.CanBackquote: no control characters other than tab, no backquote, valid UTF-8."""
    for ch in text:
        code = ord(ch)
        if ch == "`" or code == 0xFEFF or 0xD800 <= code <= 0xDFFF:
            return False
        if (code < 0x20 and ch != "\t") or code == 0x7F:
            return False
    return True


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that round-trip ``value`` (>0), and the decimal exponent.

    Returns (digits, dp) meaning 0.DIGITS x 10**dp, like strconv's decimal representation.
    Python's repr() is also the shortest round-tripping form, so its digits are Go's digits.
    """
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    exp = int(exponent) if exponent else 0
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    dp = len(whole) + exp
    if whole.strip("0") == "":  # 0.000123 -> leading zeros of the fraction move the point
        stripped = frac.lstrip("0")
        dp = exp - (len(frac) - len(stripped))
        digits = stripped
    digits = digits.rstrip("0") or "0"
    return digits, dp


def _format_e(digits: str, dp: int, prec: int, upper: bool) -> str:
    """%e from decimal digits with ``prec`` digits after the point (-1: all of them)."""
    first = digits[0]
    rest = digits[1:]
    if prec >= 0:
        rest = (rest + "0" * prec)[:prec]
    exp = dp - 1 if digits != "0" else 0
    mantissa = first + ("." + rest if rest else "")
    sign = "-" if exp < 0 else "+"
    exp = abs(exp)
    return f"{mantissa}{'E' if upper else 'e'}{sign}{exp:02d}"


def _format_f(digits: str, dp: int, prec: int) -> str:
    """%f from decimal digits; ``prec`` digits after the point (-1: as many as needed)."""
    if dp <= 0:
        integer = "0"
        frac = "0" * (-dp) + digits
    elif dp >= len(digits):
        integer = digits + "0" * (dp - len(digits))
        frac = ""
    else:
        integer = digits[:dp]
        frac = digits[dp:]
    if digits == "0":
        integer, frac = "0", ""
    if prec >= 0:
        frac = (frac + "0" * prec)[:prec]
    return integer + ("." + frac if frac else "")


def format_float(value: float, fmt_char: str, prec: int) -> str:
    """strconv.FormatFloat(value, fmt, prec, 64) for fmt in e E f F g G (prec -1 = shortest)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if fmt_char in "bxX":
        return _format_binary_float(value, fmt_char, prec)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    value = abs(value)
    lower = fmt_char.lower()
    upper = fmt_char.isupper() and lower != "f"
    if prec < 0:
        digits, dp = _shortest_digits(value) if value != 0 else ("0", 1)
        if lower == "e":
            return sign + _format_e(digits, dp, -1, upper)
        if lower == "f":
            return sign + _format_f(digits, dp, -1)
        # %g, shortest: strconv switches to %e when the exponent is < -4 or >= 6 (it uses
        # precision 6 for this decision when formatting the shortest form).
        exp = dp - 1 if digits != "0" else 0
        eprec = 6
        if exp < -4 or exp >= eprec:
            return sign + _format_e(digits, dp, -1, upper)
        return sign + _format_f(digits, dp, -1)
    if lower == "e":
        return sign + (f"{value:.{prec}E}" if upper else f"{value:.{prec}e}")
    if lower == "f":
        return sign + f"{value:.{prec}f}"
    # %g with an explicit precision: Python's rules match strconv's (both drop trailing zeros).
    if prec == 0:
        prec = 1
    text = f"{value:.{prec}{'G' if upper else 'g'}}"
    return sign + text


def _float_parts(value: float) -> tuple[bool, int, int]:
    """(negative, mantissa, exponent) of a float64 as strconv sees them: value = mant * 2**(exp-52)."""
    bits = struct.unpack(">Q", struct.pack(">d", value))[0]
    negative = bool(bits >> 63)
    exp = (bits >> 52) & 0x7FF
    mant = bits & ((1 << 52) - 1)
    if exp == 0:
        exp += 1  # denormal
    else:
        mant |= 1 << 52
    return negative, mant, exp - 1023


def _format_binary_float(value: float, fmt_char: str, prec: int) -> str:
    """strconv's %b (decimal mantissa, binary exponent) and %x/%X (hexadecimal mantissa)."""
    negative, mant, exp = _float_parts(value)
    sign = "-" if negative else ""
    if fmt_char == "b":
        exponent = exp - 52
        return f"{sign}{mant}p{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    if mant == 0:
        exp = 0
    mant <<= 60 - 52  # leading 1 (if any) at bit 60
    while mant != 0 and mant & (1 << 60) == 0:
        mant <<= 1
        exp -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mant << shift) & ((1 << 60) - 1)
        mant >>= 60 - shift
        if extra | (mant & 1) > 1 << 59:
            mant += 1
        mant <<= 60 - shift
        if mant & (1 << 61):
            mant >>= 1
            exp += 1
    digits = "0123456789ABCDEF" if fmt_char == "X" else "0123456789abcdef"
    out = [sign, "0", fmt_char, str((mant >> 60) & 1)]
    mant = (mant << 4) & ((1 << 64) - 1)
    if prec < 0 and mant != 0:
        out.append(".")
        while mant != 0:
            out.append(digits[(mant >> 60) & 15])
            mant = (mant << 4) & ((1 << 64) - 1)
    elif prec > 0:
        out.append(".")
        for _ in range(prec):
            out.append(digits[(mant >> 60) & 15])
            mant = (mant << 4) & ((1 << 64) - 1)
    out.append("P" if fmt_char == "X" else "p")
    out.append("-" if exp < 0 else "+")
    out.append(f"{abs(exp):02d}")
    return "".join(out)


def format_float_v(value: float) -> str:
    """%v of a float64: the shortest form, %e for exponents < -4 or >= 6 (1e+06)."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return format_float(value, "g", -1)


# ---------------------------------------------------------------------------------------------
# printing


def _sorted_items(mapping: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """Go's fmtsort order for map keys: numbers numerically, strings bytewise, nil first."""
    try:
        return sorted(mapping.items(), key=lambda item: item[0])
    except TypeError:
        return sorted(mapping.items(), key=lambda item: (type(item[0]).__name__, str(item[0])))


def sprint_value(value: Any) -> str:
    """``%v`` of one value, as ``{{ . }}`` prints it (nil prints ``<nil>``)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int or kind is values.Int64:
        return str(int(value))
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return format_float_v(value)
    printer = _Printer()
    printer.print_arg(value, "v")
    return "".join(printer.buf)


def sprint(args: list[Any] | tuple[Any, ...]) -> str:
    """fmt.Sprint: operands joined, with a space between two operands that are not strings."""
    out: list[str] = []
    prev_string = False
    for index, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if index > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(sprint_value(arg))
        prev_string = is_string
    return "".join(out)


def sprintln(args: list[Any] | tuple[Any, ...]) -> str:
    """fmt.Sprintln: operands joined by spaces, then a newline."""
    return " ".join(sprint_value(arg) for arg in args) + "\n"


def sprintf(format_string: str, args: list[Any] | tuple[Any, ...]) -> str:
    """fmt.Sprintf with Go's verbs, flags, widths, precisions and argument indexes."""
    if "%" not in format_string and not args:
        return format_string
    simple = _simple_format(format_string)
    if simple is not None and len(simple) - 1 == len(args):
        # Templates mostly use "%s-%s" style formats: one plain %s/%v/%d per argument.
        out = [simple[0]]
        for arg, literal in zip(args, simple[1:], strict=False):
            kind = arg.__class__
            if kind is str:
                out.append(arg)
            elif kind is int:
                out.append(str(arg))
            else:
                break
            out.append(literal)
        else:
            if _simple_verbs_ok(format_string, args):
                return "".join(out)
    printer = _Printer()
    printer.do_printf(format_string, list(args))
    return "".join(printer.buf)


_SIMPLE_CACHE: dict[str, tuple[list[str], str] | None] = {}


def _parse_simple(format_string: str) -> tuple[list[str], str] | None:
    """Split a format made only of plain %s, %v, %d and %% into literals, or None."""
    literals: list[str] = []
    verbs: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(format_string):
        ch = format_string[index]
        if ch != "%":
            current.append(ch)
            index += 1
            continue
        verb = format_string[index + 1 : index + 2]
        if verb == "%":
            current.append("%")
        elif verb in ("s", "v", "d"):
            literals.append("".join(current))
            current = []
            verbs.append(verb)
        else:
            return None
        index += 2
    literals.append("".join(current))
    return literals, "".join(verbs)


def _simple_format(format_string: str) -> list[str] | None:
    entry = _SIMPLE_CACHE.get(format_string, False)
    if entry is False:
        entry = _parse_simple(format_string)
        if len(_SIMPLE_CACHE) < 4096:
            _SIMPLE_CACHE[format_string] = entry
    return None if entry is None else entry[0]  # type: ignore[index]


def _simple_verbs_ok(format_string: str, args: list[Any] | tuple[Any, ...]) -> bool:
    """%s and %v print strings and ints as they are, %d only ints."""
    entry = _SIMPLE_CACHE.get(format_string)
    if not entry:
        return False
    return all(verb != "d" or arg.__class__ is int for verb, arg in zip(entry[1], args, strict=False))


class _Printer:
    """One fmt.pp: the output buffer plus the flags of the verb being formatted."""

    __slots__ = (
        "arg",
        "buf",
        "good_arg_num",
        "minus",
        "plus",
        "plus_v",
        "prec",
        "prec_present",
        "reordered",
        "sharp",
        "sharp_v",
        "space",
        "wid",
        "wid_present",
        "zero",
    )

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.clear_flags()
        self.arg: Any = None
        self.good_arg_num = True
        self.reordered = False

    def clear_flags(self) -> None:
        self.wid = 0
        self.prec = 0
        self.wid_present = False
        self.prec_present = False
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False

    # -- padding ---------------------------------------------------------------------------

    def write_padding(self, count: int) -> None:
        if count <= 0:
            return
        # Zero padding is only allowed to the left of the value.
        self.buf.append(("0" if self.zero and not self.minus else " ") * count)

    def pad(self, text: str) -> None:
        if not self.wid_present or self.wid == 0:
            self.buf.append(text)
            return
        width = self.wid - len(text)
        if not self.minus:
            self.write_padding(width)
            self.buf.append(text)
        else:
            self.buf.append(text)
            self.write_padding(width)

    def truncate(self, text: str) -> str:
        if self.prec_present and self.prec < len(text):
            return text[: self.prec]
        return text

    # -- verbs -----------------------------------------------------------------------------

    def bad_verb(self, verb: str, value: Any = values.MISSING) -> None:
        self.buf.append("%!" + verb + "(")
        arg = self.arg if value is values.MISSING else value
        if arg is None or arg is values.MISSING:
            self.buf.append("<nil>")
        else:
            self.buf.append(values.type_name(arg) + "=")
            self.print_arg(arg, "v")
        self.buf.append(")")

    def fmt_bool(self, value: bool, verb: str) -> None:
        if verb in "tv":
            self.pad("true" if value else "false")
        else:
            self.bad_verb(verb, value)

    def fmt_integer(self, value: int, verb: str, original: Any = None) -> None:
        if verb in "vd":
            self.fmt_int_base(value, 10, verb, False)
        elif verb == "b":
            self.fmt_int_base(value, 2, verb, False)
        elif verb in "oO":
            self.fmt_int_base(value, 8, verb, False)
        elif verb == "x":
            self.fmt_int_base(value, 16, verb, False)
        elif verb == "X":
            self.fmt_int_base(value, 16, verb, True)
        elif verb == "c":
            self.pad(_rune_char(value))
        elif verb == "q":
            self.pad(quote_rune(value, ascii_only=self.plus))  # runes are never backquoted
        elif verb == "U":
            digits = max(4, self.prec) if self.prec_present else 4
            code = value if value >= 0 else value & 0xFFFFFFFFFFFFFFFF
            text = f"U+{code:0{digits}X}"
            if self.sharp and 0 <= value <= 0x10FFFF and _is_print(chr(value)):
                text += " '" + chr(value) + "'"
            old_zero = self.zero
            self.zero = False
            self.pad(text)
            self.zero = old_zero
        else:
            self.bad_verb(verb, value if original is None else original)

    def fmt_int_base(self, value: int, base: int, verb: str, upper: bool) -> None:
        negative = value < 0
        magnitude = -value if negative else value
        if self.prec_present:
            prec = self.prec
            if prec == 0 and magnitude == 0:
                old_zero = self.zero
                self.zero = False
                self.write_padding(self.wid)
                self.zero = old_zero
                return
        elif self.zero and not self.minus and self.wid_present:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1  # leave room for the sign
        else:
            prec = 0
        if base == 10:
            digits = str(magnitude)
        elif base == 16:
            digits = format(magnitude, "X" if upper else "x")
        elif base == 8:
            digits = format(magnitude, "o")
        else:
            digits = format(magnitude, "b")
        if len(digits) < prec:
            digits = "0" * (prec - len(digits)) + digits
        if self.sharp:
            if base == 2:
                digits = "0b" + digits
            elif base == 8 and not digits.startswith("0"):
                digits = "0" + digits
            elif base == 16:
                digits = ("0X" if upper else "0x") + digits
        if verb == "O":
            digits = "0o" + digits
        if negative:
            digits = "-" + digits
        elif self.plus:
            digits = "+" + digits
        elif self.space:
            digits = " " + digits
        old_zero = self.zero
        self.zero = False  # zero padding was done above, as precision
        self.pad(digits)
        self.zero = old_zero

    def fmt_float(self, value: float, verb: str) -> None:
        if verb == "v":
            self.fmt_float_prec(value, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float_prec(value, verb, -1)
        elif verb in "feEF":
            self.fmt_float_prec(value, verb, 6)
        else:
            self.bad_verb(verb, value)

    def fmt_complex(self, value: complex, verb: str) -> None:
        """Go's fmtComplex: (real+imagi), each part with the verb, the imaginary part signed."""
        if verb not in "vbgGxXfFeE":
            self.bad_verb(verb, value)
            return
        old_plus = self.plus
        self.buf.append("(")
        self.fmt_float(value.real, verb)
        self.plus = True
        self.fmt_float(value.imag, verb)
        self.buf.append("i)")
        self.plus = old_plus

    def fmt_float_prec(self, value: float, verb: str, prec: int) -> None:
        if self.prec_present:
            prec = self.prec
        text = format_float(value, "g" if verb == "v" else verb, prec)
        if text[0] in "+-":
            num = text
        else:
            num = "+" + text
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":  # Inf and NaN are never zero padded
            old_zero = self.zero
            self.zero = False
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad(num)
            self.zero = old_zero
            return
        if self.sharp and verb != "b":
            num = _sharp_float(num, verb, prec)
        if self.plus or num[0] != "+":
            if self.zero and not self.minus and self.wid_present and self.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    def fmt_string(self, value: str, verb: str) -> None:
        if verb == "v":
            if self.sharp_v:
                self.pad(quote(self.truncate(value)))
            else:
                self.pad(self.truncate(value))
        elif verb == "s":
            self.pad(self.truncate(value))
        elif verb in "xX":
            self.fmt_sx(value.encode("utf-8", "surrogateescape"), verb)
        elif verb == "q":
            value = self.truncate(value)
            if self.sharp and can_backquote(value):
                self.pad("`" + value + "`")
            else:
                self.pad(quote(value, ascii_only=self.plus))
        else:
            self.bad_verb(verb, value)

    def fmt_sx(self, data: bytes, verb: str) -> None:
        if self.prec_present and self.prec < len(data):
            data = data[: self.prec]
        digits = "0123456789ABCDEF" if verb == "X" else "0123456789abcdef"
        if not data:
            self.pad("")
            return
        parts: list[str] = []
        for index, byte in enumerate(data):
            if self.space and index > 0:
                parts.append(" ")
            if self.sharp and (self.space or index == 0):
                parts.append("0X" if verb == "X" else "0x")
            parts.append(digits[byte >> 4] + digits[byte & 0xF])
        self.pad("".join(parts))

    # -- dispatch ---------------------------------------------------------------------------

    def print_arg(self, arg: Any, verb: str) -> None:
        self.arg = arg
        if arg is None or arg is values.MISSING:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, None)
            return
        if verb == "T":
            self.pad(self.truncate(values.type_name(arg)))
            return
        if verb == "p":
            self.bad_verb(verb, arg)
            return
        self.print_value(arg, verb, 0)

    def print_value(self, value: Any, verb: str, depth: int) -> None:
        kind = type(value)
        if kind is str:
            self.fmt_string(value, verb)
        elif kind is bool:
            self.fmt_bool(value, verb)
        elif kind is int or kind is values.Int64:
            self.fmt_integer(int(value), verb, value)
        elif kind is float:
            self.fmt_float(value, verb)
        elif kind is complex:
            self.fmt_complex(value, verb)
        elif value is None or value is values.MISSING:
            if depth == 0:
                self.print_arg(None, verb)
            elif self.sharp_v:
                self.buf.append("interface {}(nil)")
            else:
                self.buf.append("<nil>")
        elif isinstance(value, dict):
            self.print_map(value, verb, depth)
        elif isinstance(value, (list, tuple)):
            self.print_list(value, verb, depth)
        elif isinstance(value, values.GoObject):
            # Types with a String() method (Stringer) print through it for %v %s %q %x %X.
            if verb in "vsxXq" and not self.sharp_v:
                self.fmt_string(str(value), verb)
            else:
                self.buf.append("&" + repr(value))
        elif isinstance(value, bool):
            self.fmt_bool(bool(value), verb)
        elif isinstance(value, int):
            self.fmt_integer(int(value), verb)
        elif isinstance(value, float):
            self.fmt_float(float(value), verb)
        elif isinstance(value, str):
            self.fmt_string(str(value), verb)
        elif callable(value):
            self.buf.append("0x0" if verb in "vp" else f"%!{verb}(func)")
        else:
            self.fmt_string(str(value), verb)

    def print_map(self, value: dict[Any, Any], verb: str, depth: int) -> None:
        if self.sharp_v:
            self.buf.append(values.type_name(value) + "{")
        else:
            self.buf.append("map[")
        for index, (key, item) in enumerate(_sorted_items(value)):
            if index:
                self.buf.append(", " if self.sharp_v else " ")
            self.print_value(key, verb, depth + 1)
            self.buf.append(":")
            self.print_value(item, verb, depth + 1)
        self.buf.append("}" if self.sharp_v else "]")

    def print_list(self, value: list[Any] | tuple[Any, ...], verb: str, depth: int) -> None:
        if self.sharp_v:
            self.buf.append(values.type_name(value) + "{")
            for index, item in enumerate(value):
                if index:
                    self.buf.append(", ")
                self.print_value(item, verb, depth + 1)
            self.buf.append("}")
            return
        self.buf.append("[")
        for index, item in enumerate(value):
            if index:
                self.buf.append(" ")
            self.print_value(item, verb, depth + 1)
        self.buf.append("]")

    # -- Printf ---------------------------------------------------------------------------

    def do_printf(self, fmt: str, args: list[Any]) -> None:
        end = len(fmt)
        arg_num = 0
        after_index = False
        self.reordered = False
        i = 0
        buf = self.buf
        while i < end:
            self.good_arg_num = True
            start = i
            i = fmt.find("%", i)
            if i < 0:
                buf.append(fmt[start:])
                break
            if i > start:
                buf.append(fmt[start:i])
            i += 1
            self.clear_flags()
            # Flags.
            while i < end:
                c = fmt[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = True
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                elif c == " ":
                    self.space = True
                else:
                    break
                i += 1
            # Argument index, width.
            arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))
            if i < end and fmt[i] == "*":
                i += 1
                self.wid, self.wid_present, arg_num = _int_from_arg(args, arg_num)
                if not self.wid_present:
                    buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid = -self.wid
                    self.minus = True
                    self.zero = False
                after_index = False
            else:
                self.wid, self.wid_present, i = _parse_num(fmt, i, end)
                if after_index and self.wid_present:
                    self.good_arg_num = False
            # Precision.
            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    self.good_arg_num = False
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))
                if i < end and fmt[i] == "*":
                    i += 1
                    self.prec, self.prec_present, arg_num = _int_from_arg(args, arg_num)
                    if self.prec < 0:
                        self.prec = 0
                        self.prec_present = False
                    if not self.prec_present:
                        buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    self.prec, self.prec_present, i = _parse_num(fmt, i, end)
                    if not self.prec_present:
                        self.prec = 0
                        self.prec_present = True
            if not after_index:
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))
            if i >= end:
                buf.append("%!(NOVERB)")
                break
            verb = fmt[i]
            i += 1
            if verb == "%":
                buf.append("%")
            elif not self.good_arg_num:
                buf.append("%!" + verb + "(BADINDEX)")
            elif arg_num >= len(args):
                buf.append("%!" + verb + "(MISSING)")
            else:
                if verb == "v":
                    self.sharp_v, self.sharp = self.sharp, False
                    self.plus_v, self.plus = self.plus, False
                self.print_arg(args[arg_num], verb)
                arg_num += 1
        if not self.reordered and arg_num < len(args):
            self.clear_flags()
            buf.append("%!(EXTRA ")
            for index, arg in enumerate(args[arg_num:]):
                if index:
                    buf.append(", ")
                if arg is None or arg is values.MISSING:
                    buf.append("<nil>")
                else:
                    buf.append(values.type_name(arg) + "=")
                    self.print_arg(arg, "v")
            buf.append(")")

    def _arg_number(self, arg_num: int, fmt: str, i: int, num_args: int) -> tuple[int, int, bool]:
        if i >= len(fmt) or fmt[i] != "[":
            return arg_num, i, False
        self.reordered = True
        index, width, ok = _parse_arg_number(fmt[i:])
        if ok and 0 <= index < num_args:
            return index, i + width, True
        self.good_arg_num = False
        return arg_num, i + width, ok


def _parse_num(fmt: str, start: int, end: int) -> tuple[int, bool, int]:
    if start >= end:
        return 0, False, end
    num = 0
    isnum = False
    i = start
    while i < end and "0" <= fmt[i] <= "9":
        if num > _MAX_WIDTH:
            return 0, False, end
        num = num * 10 + ord(fmt[i]) - 48
        isnum = True
        i += 1
    return num, isnum, i


def _parse_arg_number(fmt: str) -> tuple[int, int, bool]:
    if len(fmt) < 3:
        return 0, 1, False
    for i in range(1, len(fmt)):
        if fmt[i] == "]":
            width, ok, newi = _parse_num(fmt, 1, i)
            if not ok or newi != i:
                return 0, i + 1, False
            return width - 1, i + 1, True
    return 0, 1, False


def _int_from_arg(args: list[Any], arg_num: int) -> tuple[int, bool, int]:
    if arg_num >= len(args):
        return 0, False, arg_num
    arg = args[arg_num]
    if values.is_int(arg) and -_MAX_WIDTH <= arg <= _MAX_WIDTH:
        return int(arg), True, arg_num + 1
    return 0, False, arg_num + 1


def _rune_char(code: int) -> str:
    if code < 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)


def _sharp_float(num: str, verb: str, prec: int) -> str:
    """The # flag on floats: always print a decimal point, keep trailing zeros for %g."""
    digits = 0
    if verb in "vgGx":
        digits = 6 if prec == -1 else prec
    tail = ""
    body = num
    tail_marks = "pP" if verb in "xX" else "eEpP"  # in hexadecimal, e is a digit
    for index in range(1, len(num)):
        if num[index] in tail_marks:
            tail = num[index:]
            body = num[:index]
            break
    has_point = "." in body
    saw_nonzero = False
    for ch in body[1:]:
        if ch == ".":
            continue
        if ch != "0":
            saw_nonzero = True
        if saw_nonzero:
            digits -= 1
    if not has_point:
        if len(body) == 2 and body[1] == "0":
            digits -= 1
        body += "."
    if digits > 0:
        body += "0" * digits
    return body + tail
