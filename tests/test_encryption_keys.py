"""Keys as docs/encryption.md shows them: ``keys_from_environment()`` keeps every key of
``$ZOHO_TOKENSTORE_ENCRYPTION_KEYS``, and anything but a list of well-formed keys is refused at
construction with a message that says what is expected and shows no key."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from databases import url_arg
from encryption_helpers import KEY_1, KEY_2
from store_errors import token_store_error
from token_factory import fields_of, full_token
from zoho_tokenstore import SQLAlchemyTokenStore, keys_from_environment
from zoho_tokenstore.cli import main
from zoho_tokenstore.cli.common import EXIT_USAGE
from zoho_tokenstore.core.errors import UsageError
from zoho_tokenstore.encryption.cipher import KEYS_ENVIRONMENT_VARIABLE, TokenCipher

K1, K2 = KEY_1.decode(), KEY_2.decode()
ENCRYPTION_PAGE = Path(__file__).resolve().parents[1] / "docs" / "encryption.md"


def _refused(keys: Any, tmp_path: Path) -> str:
    """The store's constructor error for ``keys``: a UsageError whose message shows no key text."""
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    error = token_store_error(lambda: SQLAlchemyTokenStore(url, encryption_keys=keys))
    assert isinstance(error, UsageError)
    shown = f"{error} {error!r} {error.error_message}"
    for key in (K1, K2):
        # Neither key, nor any 8 characters of one (a truncated or garbled echo).
        assert not any(key[i : i + 8] in shown for i in range(len(key) - 7)), shown
    return str(error.error_message)


# -- keys_from_environment, as the docs use it --------------------------------------------------


def test_the_docs_read_the_keys_with_keys_from_environment() -> None:
    page = ENCRYPTION_PAGE.read_text(encoding="utf-8")
    example = page.split("```python", 1)[1].split("```", 1)[0]
    assert "from zoho_tokenstore import SQLAlchemyTokenStore, keys_from_environment" in example
    assert "encryption_keys=keys_from_environment()" in example
    assert "os.environ" not in example


def test_every_key_in_the_environment_is_kept_and_rows_under_the_older_one_read(
    db_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rotation of docs/encryption.md: rows under K2 (old), then the applications get "K1,K2".
    token = full_token(1)
    with SQLAlchemyTokenStore(db_url, encryption_keys=[K2]) as old:
        old.save_token(token)
    monkeypatch.setenv(KEYS_ENVIRONMENT_VARIABLE, f" {K1} , {K2},")
    assert keys_from_environment() == [K1, K2]
    with SQLAlchemyTokenStore(db_url, encryption_keys=keys_from_environment()) as rotating:
        assert rotating.key_fingerprints == TokenCipher([K1, K2]).fingerprints
        assert fields_of(rotating.find_token_by_id(str(token.get_id()))) == fields_of(token)


def test_an_unset_variable_gives_no_keys_which_the_store_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYS_ENVIRONMENT_VARIABLE, raising=False)
    assert keys_from_environment() == []
    message = _refused(keys_from_environment(), tmp_path)
    assert "got an empty list" in message and "pass None to store values unencrypted" in message


def test_the_variable_as_one_list_item_is_refused_not_read_as_its_first_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What docs/encryption.md used to show: [os.environ[...]] with two keys was K1 alone, silently.
    monkeypatch.setenv(KEYS_ENVIRONMENT_VARIABLE, f"{K1},{K2}")
    message = _refused([os.environ[KEYS_ENVIRONMENT_VARIABLE]], tmp_path)
    assert message.startswith("encryption key #1 is not a Fernet key (it holds a comma")
    assert "keys_from_environment()" in message


# -- strict decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (f"{K1},{K2}", "it holds a comma"),
        (f"{K1}{K2}", "it is 88 characters long"),
        (f"{K1[:20]} {K1[20:]}", "it holds whitespace"),
        (f"{K1[:20]}\n{K1[20:]}", "it holds whitespace"),
        (f"{K1}!", "it is 45 characters long"),
        (f"{K1[:10]}.{K1[11:]}", "characters that are not base64"),
        (K1.rstrip("="), "it is 43 characters long"),
        (f"{K1[:-1]}A", "characters that are not base64"),  # no padding, 44 characters
        ("ключ" * 11, "it is not ASCII text"),
        (b"\xff" * 44, "characters that are not base64"),
        ((K1 + "," + K2).encode(), "it holds a comma"),
    ],
)
def test_a_key_that_is_not_exactly_one_fernet_key_is_refused(
    key: str | bytes, says: str, tmp_path: Path
) -> None:
    message = _refused([K2, key], tmp_path)
    assert message.startswith("encryption key #2 is not a Fernet key")
    assert says in message


@pytest.mark.parametrize(
    "form",
    [
        KEY_1,
        K1,
        f"  {K1}\n",
        KEY_1 + b"\n",
        base64.b64encode(base64.urlsafe_b64decode(KEY_1)).decode(),  # the standard alphabet
    ],
)
def test_the_forms_a_key_was_accepted_in_are_still_accepted(form: str | bytes) -> None:
    assert TokenCipher([form]).fingerprints == TokenCipher([KEY_1]).fingerprints


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        (12345, "got int"),
        (K1, "not one string: write [key], or keys_from_environment()"),
        (f"{K1},{K2}", "not one string"),
        (KEY_1, "not one string"),
        ({K1}, "got set"),
        ((k for k in [K1]), "got generator"),
        ([K1, 12345], "encryption key #2 is not a Fernet key: expected str or bytes, got int"),
        ([None], "encryption key #1 is not a Fernet key: expected str or bytes, got NoneType"),
        ([K1, K1], "encryption_keys lists the same key twice"),
    ],
)
def test_anything_but_a_list_of_keys_says_what_is_expected(
    keys: Any, says: str, tmp_path: Path
) -> None:
    message = _refused(keys, tmp_path)
    assert says in message
    if "#" not in says and "twice" not in says:
        assert message.startswith("encryption_keys must be a non-empty list of Fernet keys")


def test_tuples_of_keys_are_lists_too() -> None:
    assert TokenCipher((K1, K2)).fingerprints == TokenCipher([K1, K2]).fingerprints


# -- the commands read the same variable the same way --------------------------------------------


@pytest.mark.parametrize("value", [f"{K1};{K2}", f"{K1} {K2}", f"{K1},{K2[:-3]}"])
def test_a_malformed_key_in_the_environment_stops_a_command_with_exit_2(
    db_url: URL,
    value: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(KEYS_ENVIRONMENT_VARIABLE, value)
    url = url_arg(db_url)
    assert main(["encrypt", "--url", url]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert re.match(r"error: encryption key #\d is not a Fernet key", captured.err)
    for key in (K1, K2):
        assert key[:8] not in captured.err + captured.out and key[-9:] not in captured.err
