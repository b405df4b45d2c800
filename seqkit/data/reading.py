"""Reading text files with clear errors: the encoding, binary files, bad bytes.

Every seqkit loader of text (``seqkit.data.text``) and CSV
(``seqkit.data.timeseries.load_csv``) takes ``encoding="utf-8"`` and reads
through these helpers, so a wrong file or encoding ends in one message that
names the argument, the file, the byte offset (and line) and the fix, instead of
a bare ``'utf-8' codec can't decode byte 0xe9 in position 1187``.

* ``check_encoding(encoding)``: the codec exists (else ValueError naming
  ``encoding``).
* ``check_text_file(path, encoding, argument)``: the file is not binary. Like
  git, a NUL byte in the first 8,000 bytes means binary (text never holds one),
  except in UTF-16/UTF-32, where NUL bytes are ordinary.
* ``decoding_error(path, encoding, argument)``: the ValueError to raise when
  decoding failed; the file is re-decoded as a whole to find the absolute offset
  (a reader's own ``UnicodeDecodeError`` counts from the start of its buffer).
* ``read_text(path, encoding, argument)``: all three around ``open().read()``;
  ``"\\r\\n"`` and ``"\\r"`` read as ``"\\n"``; a leading byte-order mark is dropped.

Example:
    >>> read_text("notes.txt", "utf-8", "text_file")            # doctest: +SKIP
    ValueError: encoding: cannot decode text_file='notes.txt' as 'utf-8': byte 0xe9
    at byte offset 14 (line 2) is not valid 'utf-8' (invalid continuation byte).
    If the file uses another encoding, pass it, e.g. encoding='latin-1'
    (flag --encoding=latin-1).
"""
from __future__ import annotations

import codecs
import os
import re

# How much of a file is checked for NUL bytes (git's heuristic reads 8,000).
BINARY_PROBE = 8000


def check_encoding(encoding: str) -> str:
    """The codec's canonical name; ValueError naming ``encoding`` if unknown."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError) as error:
        raise ValueError(
            f"encoding: expected the name of a text encoding (e.g. 'utf-8', 'latin-1', "
            f"'cp1252'), got {encoding!r}") from error


def _nul_is_text(encoding: str) -> bool:
    return check_encoding(encoding).startswith(("utf-16", "utf-32"))


def check_text_file(path: str | os.PathLike, encoding: str, argument: str) -> None:
    """ValueError naming ``argument`` when ``path`` looks binary (see module doc)."""
    path = os.fspath(path)
    if _nul_is_text(encoding):
        return
    with open(path, "rb") as file:
        head = file.read(BINARY_PROBE)
    offset = head.find(b"\x00")
    if offset >= 0:
        raise ValueError(
            f"{argument}: expected a text file, got {path!r}, which looks binary (a NUL byte "
            f"at byte offset {offset}; text files have none). Pass the text or CSV file "
            f"itself, not an archive, image or model file.")


def decoding_error(path: str | os.PathLike, encoding: str, argument: str) -> ValueError:
    """The ValueError for a file that does not decode as ``encoding``.

    Names ``encoding``, the file (as ``argument``), the first bad byte's offset and
    line, and the fix (``encoding=...``, flag ``--encoding``).
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        raw = file.read()
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as error:
        offset, reason = error.start, error.reason
    else:  # the reader failed on something else; say so plainly
        return ValueError(f"encoding: could not read {argument}={path!r} as {encoding!r}")
    line = raw.count(b"\n", 0, offset) + 1
    suggestion = "latin-1" if check_encoding(encoding) != "iso8859-1" else "cp1252"
    return ValueError(
        f"encoding: cannot decode {argument}={path!r} as {encoding!r}: byte "
        f"0x{raw[offset]:02x} at byte offset {offset} (line {line}) is not valid {encoding!r} "
        f"({reason}). If the file uses another encoding, pass it, e.g. "
        f"encoding={suggestion!r} (flag --encoding={suggestion}).")


def read_text(path: str | os.PathLike, encoding: str = "utf-8", argument: str = "path") -> str:
    """The text of ``path`` decoded as ``encoding``, with clear errors (module doc)."""
    path = os.fspath(path)
    check_encoding(encoding)
    check_text_file(path, encoding, argument)
    try:
        # newline=None: "\r\n" and "\r" line ends read as "\n".
        with open(path, encoding=encoding, newline=None) as file:
            text = file.read()
    except UnicodeDecodeError:
        raise decoding_error(path, encoding, argument) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_lines(path: str | os.PathLike, encoding: str = "utf-8", argument: str = "path"
               ) -> list[str]:
    r"""The lines of ``path`` (``read_text``'s checks and errors), without line ends.

    The newline that ends the last line starts no empty line; an empty line
    inside the file is kept as "".

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        ...     _ = f.write("a\r\n\nb\n")
        >>> read_lines(f.name)
        ['a', '', 'b']
    """
    lines = read_text(path, encoding, argument).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# A number with a decimal comma ("3,25", "-0,5") or a decimal point ("3.25").
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[+-]?\d*\.\d+\s*$")


def csv_format(path: str | os.PathLike, encoding: str = "utf-8",
               sample_lines: int = 200) -> dict:
    """``pd.read_csv`` keywords for the separator and decimal mark of ``path``.

    A comma in the header row means an ordinary CSV: ``{}``. A header without one
    but with a semicolon, tab or pipe is read with that separator (what
    spreadsheets export where the comma is the decimal mark); with semicolons,
    the decimal mark is a comma when the first ``sample_lines`` data lines hold
    numbers written with one ("3,25") and none with a point. Only files that would
    otherwise come back as a single column are affected.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        ...     _ = f.write("day;load\n2024-01-01;3,25\n")
        >>> csv_format(f.name)
        {'sep': ';', 'decimal': ','}
    """
    with open(path, encoding=encoding, newline=None) as file:
        header = file.readline().lstrip("\ufeff")
        if "," in header:
            return {}
        sep = next((mark for mark in (";", "\t", "|") if mark in header), None)
        if sep is None:
            return {}
        if sep != ";":
            return {"sep": sep}
        comma = point = 0
        for _, line in zip(range(sample_lines), file):
            for cell in line.rstrip("\n").split(sep):
                comma += bool(_DECIMAL_COMMA.match(cell))
                point += bool(_DECIMAL_POINT.match(cell))
    return {"sep": sep, "decimal": ","} if comma and not point else {"sep": sep}
