"""The SDK reads the store before every API request: those lookups must be one SQL statement each."""

from __future__ import annotations

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from statement_log import StatementLog
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore


def _saved(store: SQLAlchemyTokenStore) -> OAuthToken:
    token = full_token(1)
    store.save_token(token)
    store.find_token_by_id(token.get_id())  # warm the pool, so we count steady-state statements
    return token


def test_find_token_by_id_is_one_statement(
    store: SQLAlchemyTokenStore, statements: StatementLog
) -> None:
    token = _saved(store)
    statements.recording = True
    store.find_token_by_id(token.get_id())
    statements.recording = False
    assert len(statements.statements) == 1
    assert statements.statements[0].lstrip().upper().startswith("SELECT")


def test_find_token_is_one_statement_for_every_criterion(
    store: SQLAlchemyTokenStore, statements: StatementLog
) -> None:
    token = _saved(store)
    probes = [
        OAuthToken(id=token.get_id()),
        OAuthToken(user_signature=UserSignature(token.get_user_signature().get_name())),
        OAuthToken(access_token=token.get_access_token()),
        OAuthToken(client_id="c", client_secret="s", grant_token=token.get_grant_token()),
        OAuthToken(client_id="c", client_secret="s", refresh_token=token.get_refresh_token()),
    ]
    for probe in probes:
        statements.statements.clear()
        statements.recording = True
        assert store.find_token(probe) is probe
        statements.recording = False
        assert len(statements.statements) == 1, statements.statements
        assert probe.get_id() == token.get_id()
