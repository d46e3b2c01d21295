"""The refresh lease: which worker refreshes a token, claimed and released in transactions that
commit at once, so nothing is held while Zoho answers (docs/refresh-coordination.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, select, update
from sqlalchemy import exc as sa_exc

from ..core.errors import is_retryable
from ..core.model import OAuthTokenRow, TokenRow, lease_row_class, token_row
from ..database.profile import EngineProfile
from ..encryption.columns import credential_match, credential_params, with_lookup_hashes
from .failure import CLEARED, RefreshFailure


@dataclass(frozen=True)
class LeaseState:
    """The token row (``None`` if deleted), its last failed refresh and the lease on it, as one
    read saw them."""

    row: TokenRow | None
    holder: str | None = None
    #: Epoch milliseconds when the lease may be taken over; ``None`` when nobody holds one.
    expires_at: int | None = None
    failure: RefreshFailure | None = None


class RefreshLeases:
    """The lease table of one token table, reached through the store's engine."""

    def __init__(self, profile: EngineProfile, row_class: type[OAuthTokenRow]) -> None:
        self._profile = profile
        self._rows = row_class
        self._leases = lease_row_class(row_class)

    def read(self, token_id: str) -> LeaseState:
        """The token row and its lease, read together in one statement."""
        rows, leases = self._rows, self._leases
        query = (
            select(rows, leases.holder.label("lease_holder"), leases.expires_at)
            .outerjoin(leases, leases.token_id == rows.id)
            .where(rows.id == token_id)
        )
        with self._profile.connect() as connection:
            found = connection.execute(query).mappings().first()
        if found is None:
            return LeaseState(None)
        expires_at = found["expires_at"]
        return LeaseState(
            token_row(found),
            holder=found["lease_holder"],
            expires_at=int(expires_at) if expires_at is not None else None,
            failure=RefreshFailure.of(found),
        )

    def claim(
        self, token_id: str, holder: str, expires_at: int, take_over: str | None = None
    ) -> LeaseState | None:
        """Claim the lease as ``holder``, first deleting ``take_over``'s expired one: the token row
        as it is now, or ``None`` if another worker won the race (never an error)."""
        try:
            with self._profile.begin() as connection:
                if take_over is not None:
                    connection.execute(
                        delete(self._leases).where(
                            self._leases.token_id == token_id, self._leases.holder == take_over
                        )
                    )
                values = {"token_id": token_id, "holder": holder, "expires_at": expires_at}
                if not self._profile.insert_if_absent(
                    connection, cast(Table, self._leases.__table__), values
                ):
                    return None
                found = self._read_row(connection, token_id)
        except sa_exc.SQLAlchemyError as exc:
            if is_retryable(exc):  # a duplicate key or a deadlock: another worker won the race
                return None
            raise
        if found is None:
            return LeaseState(None, holder=holder, expires_at=expires_at)
        return LeaseState(
            token_row(found), holder=holder, expires_at=expires_at, failure=RefreshFailure.of(found)
        )

    def save_and_release(self, token_id: str, holder: str, changes: Mapping[str, str]) -> None:
        """Store the refreshed columns, forget any failed refresh and end the holder's lease in one
        transaction, even if the lease was taken over meanwhile: the new token is valid either way."""
        with self._profile.begin() as connection:
            # with_lookup_hashes: a new refresh token must be found by its own hash.
            table = cast(Table, self._rows.__table__)
            connection.execute(
                update(self._rows)
                .where(self._rows.id == token_id)
                .values({**with_lookup_hashes(table, dict(changes)), **CLEARED})
            )
            self._delete(connection, token_id, holder)

    def record_and_release(
        self, token_id: str, holder: str, refresh_token: str, failure: RefreshFailure
    ) -> bool:
        """Record the failed refresh and end the holder's lease in one transaction; whether it was
        recorded: not if a new refresh token was saved meanwhile (a new login), as it may work."""
        table = cast(Table, self._rows.__table__)
        same_token = credential_match(table, "refresh_token", "used")
        statement = (
            update(self._rows)
            .where(self._rows.id == token_id, same_token)
            .values(failure.columns())
        )
        with self._profile.begin() as connection:
            params = credential_params(table, "used", refresh_token)
            recorded = connection.execute(statement, params).rowcount == 1
            self._delete(connection, token_id, holder)
        return recorded

    def release(self, token_id: str, holder: str) -> None:
        """End the holder's lease without saving anything (the refresh failed)."""
        with self._profile.begin() as connection:
            self._delete(connection, token_id, holder)

    def _delete(self, connection: Connection, token_id: str, holder: str) -> None:
        leases = self._leases
        connection.execute(
            delete(leases).where(leases.token_id == token_id, leases.holder == holder)
        )

    def _read_row(self, connection: Connection, token_id: str) -> Mapping[Any, Any] | None:
        """The whole row (token values and failure columns), ``None`` if it is gone."""
        query = select(self._rows).where(self._rows.id == token_id)
        return connection.execute(query).mappings().first()
