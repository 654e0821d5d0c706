"""How a text file is written: its encoding, delimiter, header and column names.

:func:`open_text` prepares a CSV or JSON Lines file for DuckDB's reader
(checks a ``.gz`` file end to end, settles the encoding, reads the first
lines); :func:`detect` then settles what :class:`LoadOptions` leaves open.
The choices, each a user may override:

- **Delimiter.** ``options.delimiter`` is one character, or one of the words
  ``comma``, ``semicolon``, ``tab`` (also ``\\t`` as typed), ``pipe``, or
  ``whitespace`` (also ``space`` or a single ``" "``): runs of spaces and tabs,
  leading and trailing ones ignored, as in fixed-width-looking exports like
  CDNOW's.  A single space means runs too, because files padded with spaces
  are the common case.  Whitespace-separated fields cannot be quoted, so a
  value cannot contain a space.  Detected when not given: the header line is
  sniffed for ``,`` ``;`` tab ``|`` (and kept unless the next lines disagree
  with it but agree on whitespace); failing that, it is whitespace-separated
  when the header and at least half of the next 200 lines split into the
  same number (>1) of fields on whitespace; failing that, the file has one
  column.  A header read as one column that plainly is several (it holds a
  delimiter, or the lines split alike on one) is an error naming the
  delimiter to pass, not the later "column 'date' is not in the file".
- **Header.** With ``header`` (the default) the first line names the
  columns and data row 1 is the second line.  Without it the first line is
  data row 1 and the columns are named by ``options.columns``, or
  ``column_1`` ... ``column_n`` (n from the first line) when those are not
  given; :attr:`Dialect.notes` says so.
- **Column names.** ``options.columns`` with a header *replaces* the
  header's names (a way to fix a header with duplicate or empty names
  without editing the file).  Either way the count must match the file's.
  Duplicate names (DuckDB compares names case-insensitively) and empty names
  are clear errors naming their positions.
- **Encoding.** ``options.encoding`` is any name Python knows.  UTF-8,
  latin-1 and little-endian UTF-16 are read by DuckDB itself; any other
  encoding (cp1252, big-endian UTF-16, Shift JIS, ...) is first transcoded to
  a temporary UTF-8 file (about 0.3 s per 60 MB), removed when the load ends.
  Without it a file is UTF-8, or UTF-16 when it starts with a UTF-16
  byte-order mark; a first 256 KB that is not valid UTF-8 is an error that
  names the line and suggests ``--encoding latin-1`` (or ``cp1252`` when it
  has the bytes 0x80-0x9F that Windows uses for € and curly quotes).
- **Compression.** A ``.gz`` file is decompressed once in Python before the
  load (about 10 ms per MB compressed) because DuckDB reads a truncated one
  up to the cut without complaint; a truncated or corrupt file is one error
  and nothing is loaded.  A ``.zst`` file is not checked and its dialect is
  left to DuckDB's own detection (Python has no zstd reader before 3.14).

>>> detect(TextFile(Path("o.txt"), "o.txt", "utf-8",
...                 [" customer_id  date", " 00001 19970101", " 00002 19970102"]),
...        LoadOptions()).delimiter
'whitespace'
"""

from __future__ import annotations

import codecs
import csv
import gzip
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from outsidein.errors import DataValidationError
from outsidein.warehouse.options import LoadOptions

__all__ = ["SNIFFED", "WHITESPACE", "Dialect", "TextFile", "check_gzip", "check_names",
           "delimiter_of", "detect", "open_text", "split_whitespace"]

WHITESPACE = "whitespace"
#: the delimiters looked for in a header line
SNIFFED = ",;\t|"
WORDS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|",
         "whitespace": WHITESPACE, "space": WHITESPACE, " ": WHITESPACE}
HEAD_BYTES = 1 << 18
SAMPLE_LINES = 200
#: Python's codec name -> DuckDB's ``read_csv(encoding=...)`` (the others are transcoded)
NATIVE = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "ascii": "utf-8", "iso8859-1": "latin-1",
          "utf-16": "utf-16", "utf-16-le": "utf-16"}
_BLANKS = re.compile(r"[ \t]+")
_CHUNK = 1 << 20


@dataclass
class TextFile:
    """A text file ready for DuckDB: ``path`` to read (the file, or a UTF-8 copy).

    ``name`` is the user's file name (for messages), ``encoding`` DuckDB's
    name for the encoding of ``path``, ``head`` its first lines (None when
    they cannot be read cheaply, for ``.zst``).
    """

    path: Path
    name: str
    encoding: str
    head: list[str] | None
    close: Callable[[], None] = field(default=lambda: None)


@dataclass(frozen=True)
class Dialect:
    """How to split a text file: ``delimiter`` (one character or :data:`WHITESPACE`).

    ``header`` says whether the first line names the columns, ``names`` are
    the columns, and ``notes`` what was assumed (for the load report).
    """

    delimiter: str
    header: bool
    names: tuple[str, ...]
    notes: tuple[str, ...] = ()


def delimiter_of(text: str) -> str:
    """The delimiter the user means: one character or :data:`WHITESPACE`.

    >>> delimiter_of("Tab"), delimiter_of(";"), delimiter_of(" ")
    ('\\t', ';', 'whitespace')
    """
    word = WORDS.get(text.lower() if len(text) > 1 else text)
    if word is not None:
        return word
    if len(text) != 1 or text in "\"\r\n":
        raise DataValidationError(
            f"--delimiter {text!r}: expected one character (other than a quote or a line "
            f"break) or one of the words {', '.join(sorted(w for w in WORDS if w.isalpha()))}")
    return text


def split_whitespace(line: str) -> list[str]:
    """The fields of a whitespace-separated line (as the SQL reader splits it).

    >>> split_whitespace(" 00001 19970101  1  11.77")
    ['00001', '19970101', '1', '11.77']
    """
    line = line.strip(" \t")
    return _BLANKS.split(line) if line else []


def detect(text: TextFile, options: LoadOptions) -> Dialect:
    """The dialect of *text*: what *options* say, the rest detected (see the module)."""
    lines = [ln for ln in (text.head or []) if ln.strip(" \t")]
    if not lines:
        raise DataValidationError(f"{text.name}: the file is empty; nothing loaded")
    first, sample = lines[0], lines[1:SAMPLE_LINES]
    given = options.delimiter is not None
    delim, skip_space = (delimiter_of(options.delimiter), False) if options.delimiter \
        is not None else _sniff(first, sample)
    fields = _split(first, delim, skip_space)
    notes: list[str] = []
    if not given and delim == WHITESPACE:
        notes.append("read as whitespace-separated columns")
    if options.columns is not None:
        names = tuple(options.columns)
        check_names(names, text.name, "--columns")
        if len(names) != len(fields):
            where = (f"the header of {text.name} has {len(fields)} ({_listed(fields)})"
                     if options.header else f"line 1 of {text.name} has {len(fields)} fields")
            raise DataValidationError(
                f"--columns names {len(names)} column(s) but {where}; give one name per column"
                + ("" if given or len(fields) > 1 else ", or pass --delimiter"))
    elif options.header:
        names = tuple(fields)
        check_names(names, text.name, "header")
    else:
        names = tuple(f"column_{i}" for i in range(1, len(fields) + 1))
        notes.append(f"no header: columns named {names[0]} ... {names[-1]}"
                     if len(names) > 1 else "no header: one column named column_1")
    if options.header and options.columns is None and len(fields) == 1:
        _one_column(fields[0], lines, text.name, delim if given else None)
    return Dialect(delim, options.header, names, tuple(notes))


def _sniff(first: str, sample: list[str]) -> tuple[str, bool]:
    """The delimiter of the header line, checked against the next lines.

    A delimiter sniffed in the header wins unless the lines disagree with it
    and agree on whitespace (a header like ``id  name<TAB>nps`` over lines
    padded with spaces); when the lines agree with neither, the sniffed one
    is kept, so that the ragged lines are quarantined.
    """
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=SNIFFED)
        if len(next(csv.reader([first], dialect))) > 1:
            sniffed = dialect.delimiter, bool(dialect.skipinitialspace)
            if _agree(first, sample, sniffed[0], sniffed[1]) or not _agree(
                    first, sample, WHITESPACE):
                return sniffed
            return WHITESPACE, False
    except csv.Error:
        pass
    if _agree(first, sample, WHITESPACE) > 1:
        return WHITESPACE, False
    return ",", False  # one column: any delimiter that does not occur will do


def _split(line: str, delim: str, skip_space: bool = False) -> list[str]:
    if delim == WHITESPACE:
        return split_whitespace(line)
    return next(csv.reader([line], delimiter=delim, quotechar='"', doublequote=True,
                           skipinitialspace=skip_space))


def _agree(first: str, sample: list[str], delim: str, skip_space: bool = False) -> int:
    """Fields per line when *first* and at least half of *sample* split alike, else 0.

    Half, not all: the file may have ragged lines, which are quarantined.
    """
    n = len(_split(first, delim, skip_space))
    same = sum(len(_split(ln, delim, skip_space)) == n for ln in sample)
    return n if n > 1 and 2 * same >= len(sample) else 0


def _one_column(name: str, lines: list[str], file: str, given: str | None) -> None:
    """Stop when a header read as one column is plainly several (say which delimiter).

    It is, when the name holds one of the usual delimiters, or when the
    header and the lines split alike on another delimiter.  A one-column
    file whose name has a space ("customer id") over values without one is
    read; one whose values have spaces too needs ``--columns`` to be read so.
    """
    found = [(d, n) for d in (*SNIFFED, WHITESPACE) if d != given
             and (n := _agree(lines[0], lines[1:SAMPLE_LINES], d))]
    if not found and not any(c in name for c in SNIFFED if c != given):
        return  # a one-column file whose name may hold spaces ("customer id")
    how = f"with --delimiter {_word(given)}" if given is not None else "with no delimiter found"
    hint = (f"its lines split into {found[0][1]} columns on {_word(found[0][0])}: pass "
            f"--delimiter {_word(found[0][0])}" if found else "pass --delimiter")
    raise DataValidationError(
        f"{file}: the header was read as one column {_clip(name)!r} {how}; {hint}")


def _word(delim: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe",
            WHITESPACE: WHITESPACE}.get(delim, repr(delim))


def check_names(names: tuple[str, ...], file: str, where: str, *,
                columns_option: bool = True) -> None:
    """Empty and duplicate column names, named by position (1-based).

    A header's error also offers ``--columns`` (*columns_option*; not for a workbook's
    header row, which that option does not rename).
    """
    fix = f"pass --columns with a name for each of the {len(names)} columns"
    offer = columns_option and where != "--columns"
    for i, n in enumerate(names, 1):
        if not n.strip():
            raise DataValidationError(
                f"{file}: column {i} of the {where} has no name; " +
                (f"name it, or {fix}" if offer else "give every column a name"))
    seen: dict[str, int] = {}
    for i, n in enumerate(names, 1):
        j = seen.setdefault(n.lower(), i)
        if j != i:
            same = repr(n) if names[j - 1] == n else f"{names[j - 1]!r} and {n!r}"
            rename = f"rename one, or {fix}" if offer else "rename one"
            raise DataValidationError(
                f"{file}: the {where} names column {same} twice (columns {j} and {i}; "
                f"names are compared ignoring case); {rename}")


def _listed(fields: list[str], at_most: int = 6) -> str:
    shown = ", ".join(_clip(f) for f in fields[:at_most])
    return shown + (", ..." if len(fields) > at_most else "")


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


# -- bytes: compression and encoding -----------------------------------------------------

def check_gzip(path: Path, name: str) -> None:
    """Raise a :class:`DataValidationError` if the gzip file *path* is truncated or corrupt.

    Decompresses the whole file and discards the output (about 10 ms per MB
    compressed); concatenated members and trailing zero padding are allowed,
    as by ``gzip``.
    """
    d = zlib.decompressobj(wbits=31)
    try:
        with path.open("rb") as fh:
            while block := fh.read(_CHUNK):
                data = block
                while data:
                    if d.eof:  # a member ended: another one follows, or zero padding
                        if not data.strip(b"\0"):
                            break
                        d = zlib.decompressobj(wbits=31)
                    d.decompress(data, 1 << 24)
                    data = d.unused_data if d.eof else d.unconsumed_tail
    except zlib.error as exc:
        raise DataValidationError(
            f"{name} is truncated or corrupt (gzip: {exc}); nothing loaded; "
            "compress or copy the file again") from None
    if not d.eof:
        raise DataValidationError(
            f"{name} is truncated or corrupt (gzip: the compressed data ends before its end "
            "marker); nothing loaded; copy or download the file again")


def open_text(path: Path, options: LoadOptions) -> TextFile:
    """*path* ready to read: checked if gzipped, in an encoding DuckDB reads, with its head."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        check_gzip(path, path.name)
    codec = _codec(options.encoding) if options.encoding else None
    if suffix == ".zst":
        return TextFile(path, path.name, NATIVE.get(codec or "utf-8", "utf-8"), None)
    with _raw(path) as fh:
        head = fh.read(HEAD_BYTES)
    bom16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    codec = codec or ("utf-16" if bom16 else "utf-8")
    native = NATIVE.get(codec)
    if codec.startswith("utf-16") and head.startswith(codecs.BOM_UTF16_BE):
        native = None  # DuckDB reads only little-endian UTF-16 (a big-endian file comes out empty)
    if native is None:
        copy = _transcode(path, codec)
        with copy.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        lines = _decoded(head, "utf-8", path.name, given=True)
        return TextFile(copy, path.name, "utf-8", lines, close=lambda: copy.unlink(missing_ok=True))
    if native == "latin-1" and re.search(b"[\x80-\x9f]", head):
        raise DataValidationError(
            f"{path.name} is not latin-1 (ISO-8859-1): it has bytes 0x80-0x9F, which Windows' "
            "cp1252 uses for € and curly quotes; pass --encoding cp1252")
    py = {"utf-8": "utf-8-sig", "latin-1": "latin-1"}.get(native) or (
        codec if bom16 or codec != "utf-16" else "utf-16-le")
    lines = _decoded(head, py, path.name, given=options.encoding is not None)
    return TextFile(path, path.name, native, lines)


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise DataValidationError(
            f"--encoding {name!r} is not an encoding Python knows; use e.g. utf-8, latin-1, "
            "cp1252 or utf-16") from None


def _raw(path: Path) -> BinaryIO:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _decoded(head: bytes, codec: str, name: str, *, given: bool) -> list[str]:
    """The complete lines of *head* (the file's first bytes), decoded strictly."""
    cut = len(head) == HEAD_BYTES
    try:
        text = codecs.getincrementaldecoder(codec)().decode(head, final=not cut)
    except UnicodeDecodeError as exc:
        raise _not_decodable(head, exc, codec, name, given=given) from None
    lines = text.splitlines()
    return lines[:-1] if cut and len(lines) > 1 else lines


def _not_decodable(head: bytes, exc: UnicodeDecodeError, codec: str, name: str, *,
                   given: bool) -> DataValidationError:
    line_no = head.count(b"\n", 0, exc.start) + 1
    start = head.rfind(b"\n", 0, exc.start) + 1
    end = head.find(b"\n", exc.start)
    shown = head[start:end if end >= 0 else len(head)].rstrip(b"\r")
    label = "UTF-8" if codec.startswith("utf-8") else codec
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        fix = "the file starts like UTF-16: pass --encoding utf-16"
    elif re.search(b"[\x80-\x9f]", head):
        fix = "pass --encoding cp1252 (Windows' encoding; or the file's own)"
    else:
        fix = "pass --encoding latin-1 (or the file's own encoding)"
    said = " (as --encoding says)" if given else ""
    return DataValidationError(
        f"{name}: line {line_no} is not valid {label}{said} (byte 0x{head[exc.start]:02x} in "
        f"{_clip(shown.decode(codec, errors='replace'), 80)!r}); {fix}")


def _transcode(path: Path, codec: str) -> Path:
    """A temporary UTF-8 copy of *path* (decompressed), read as *codec*."""
    fd, name = tempfile.mkstemp(prefix="outsidein-", suffix=".txt")
    copy = Path(name)
    decoder = codecs.getincrementaldecoder(codec)()
    done = 0
    try:
        with _raw(path) as src, os.fdopen(fd, "wb") as dst:
            for block in _blocks(src):
                dst.write(decoder.decode(block).encode("utf-8"))
                done += len(block)
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        copy.unlink(missing_ok=True)
        raise DataValidationError(
            f"{path.name}: is not valid {codec} (as --encoding says; a byte that cannot be "
            f"{codec} near byte {done + exc.start:,}); check --encoding") from None
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    return copy


def _blocks(fh: BinaryIO) -> Iterator[bytes]:
    while block := fh.read(_CHUNK):
        yield block
