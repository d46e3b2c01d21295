"""Hostile strings for ``test_hostile_input.py``: injection payloads, quoting, placeholders, Unicode.

Each must be stored and returned byte-exact, or refused with a clear ``SDKException(TOKEN_STORE)``.
"""

from __future__ import annotations

from typing import Final

SQL_INJECTION: Final = (
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE oauthtoken; --",
    '"; DROP TABLE oauthtoken; --',
    "1; DELETE FROM oauthtoken",
    "' UNION SELECT * FROM oauthtoken --",
    "admin'--",
    "') OR ('a'='a",
    "%' OR 1=1 --",
    # PostgreSQL: dollar quoting, escape strings, sleeps
    "$$; DROP TABLE oauthtoken; $$",
    "E'\\x27; DROP TABLE oauthtoken; --",
    "'; SELECT pg_sleep(5); --",
    "'::text; COPY oauthtoken TO '/tmp/leak'; --",
    # MySQL/MariaDB: backslash escapes, comments, versioned comments, backticks
    "\\'; DROP TABLE oauthtoken; -- ",
    "1' AND SLEEP(5)#",
    "/*!50000 DROP TABLE oauthtoken */",
    "` DROP TABLE oauthtoken; `",
    "0x27204f5220313d31",
    # SQLite: concatenation, ATTACH, PRAGMA, bracket quoting
    "'||(SELECT sqlite_version())||'",
    "ATTACH DATABASE '/tmp/x.db' AS x; --",
    "'; PRAGMA writable_schema=1; --",
    "[oauthtoken]",
)

QUOTES_AND_PLACEHOLDERS: Final = (
    "'",
    "''",
    '"',
    "`",
    "\\",
    "\\\\",
    "\\'",
    '\\"',
    "\\0",
    "\\x00",
    "%",
    "%%",
    "%s",
    "%(value)s",
    "%d",
    "{}",
    "{0}",
    ":name",
    ":value",
    "?",
    "??",
    "$1",
    "@@version",
)

UNICODE: Final = (
    "😀🔑",
    "👨\u200d👩\u200d👧\u200d👦",  # ZWJ sequence
    "مرحبا بالعالم",  # RTL
    "\u202eevil\u202c",  # RTL override
    "e\u0301",  # combining acute accent (NFD)
    "\u00e9",  # the same letter precomposed (NFC): must stay a different value
    "Z\u0337\u0322\u031ba\u0336l\u0335g\u0336o\u0337",  # stacked combining marks
    "日本語トークン",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # noqa: RUF001  # outside the BMP, and confusable with ASCII
    "\U0010ffff",
    "\ufffd",
    "\ufeffBOM",
    "zero\u200bwidth",
    "İß\ufb01",
    "\x1b[31mred\x1b[0m",
    "\x01\x02\x08\x7f",
)

WHITESPACE: Final = (
    " ",
    "  leading",
    "trailing  ",
    "\t",
    "\n",
    "\r\n",
    "a\x0bb",
    "\u00a0",
    "\u2028",
    "\u3000",
    # Values equal up to case or trailing spaces must stay distinct, as the SDK's lookups are exact.
    "twin",
    "twin ",
    "Twin",
)

#: Values no backend can store as text: every store must refuse them, quoting nothing.
UNSTORABLE: Final = (
    "a\x00b",
    "\x00",
    "\ud800",
    "a\udfffb",
    "A" * 10240,
    "😀" * 2560,  # 10 KB of UTF-8
)

HOSTILE: Final = SQL_INJECTION + QUOTES_AND_PLACEHOLDERS + UNICODE + WHITESPACE + UNSTORABLE

#: Digit strings that are not ASCII: ``str.isdigit`` accepts them, but the SDK's ``int()`` may not.
ODD_DIGITS: Final = ("\u00b2\u00b3", "\u0661\u0662\u0663", "\uff11\uff12\uff13")
