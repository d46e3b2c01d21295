"""Work that ``test_processes.py`` runs in separate OS processes (``worker_context``), each with its own store.

Functions here are imported by name in the child processes, so they live outside the test module.
Every worker returns what it saw, including error texts, and never raises: the parent asserts.
"""

from __future__ import annotations

from multiprocessing.synchronize import Barrier
from typing import Any

from token_factory import fields_of, make_token
from zoho_tokenstore import SQLAlchemyTokenStore

BARRIER_TIMEOUT_S = 60.0

_barrier: Barrier | None = None


def init_worker(barrier: Barrier) -> None:
    """Pool initializer: keep the barrier that releases all workers of one step together (also
    ``upgrade_workers``')."""
    global _barrier
    _barrier = barrier


def wait_at_barrier() -> None:
    """Block until every worker of the step has arrived (``init_worker``'s barrier)."""
    assert _barrier is not None, "init_worker was not called"
    _barrier.wait(BARRIER_TIMEOUT_S)


def login_values(user: int, writer: int) -> dict[str, str]:
    """A first-login token for ``user`` whose every other field names ``writer``."""
    return {
        "user_name": f"user{user}@example.com:6000{user}",
        "client_id": f"1000.CLIENT.u{user}.w{writer}",
        "client_secret": f"secret.u{user}.w{writer}",
        "refresh_token": f"1000.refresh.u{user}.w{writer}",
        "access_token": f"1000.access.u{user}.w{writer}",
        "grant_token": f"1000.grant.u{user}.w{writer}",
        "expiry_time": f"17{user:05d}{writer:06d}",
        "redirect_url": f"https://example.com/callback/u{user}/w{writer}",
        "api_domain": f"https://w{writer}.zohoapis.example",
    }


def refresh_values(writer: int, step: int) -> dict[str, str]:
    """The fields a refresh changes, each naming the writer and its step so reads can be checked."""
    return {
        "access_token": f"1000.access.w{writer}.s{step}",
        "refresh_token": f"1000.refresh.w{writer}.s{step}",
        "expiry_time": f"18{writer:05d}{step:06d}",
    }


def refresh_problem(values: dict[str, str | None]) -> str | None:
    """Why a read row is not one writer's complete refresh (fields from two writers), or ``None``."""
    access = values["access_token"] or ""
    try:
        writer, step = (int(part[1:]) for part in access.split(".")[2:4])
    except ValueError:
        return f"unexpected access token {access!r}"
    expected = refresh_values(writer, step)
    mixed = {k: values[k] for k in expected if values[k] != expected[k]}
    return f"fields mixed between writers: {mixed}" if mixed else None


def error_text(exc: BaseException) -> str:
    """How a worker reports an exception to the parent: its class and message."""
    return f"{type(exc).__name__}: {exc}"


def first_logins_of_one_user(url: str, writer: int, rounds: int) -> dict[str, Any]:
    """Each round, all workers save a fresh first-login token for the same user at once."""
    errors: list[str] = []
    ids: dict[int, str | None] = {}
    with SQLAlchemyTokenStore(url) as store:
        for user in range(rounds):
            token = make_token(**login_values(user, writer))
            wait_at_barrier()
            try:
                store.save_token(token)
            except Exception as exc:  # noqa: BLE001  # reported to the parent, which asserts
                errors.append(error_text(exc))
            ids[user] = token.get_id()
    return {"errors": errors, "ids": ids}


def first_logins_of_many_users(url: str, writer: int, users: int) -> dict[str, Any]:
    """All workers start together; each saves ``users`` users of its own, then reads them back."""
    errors: list[str] = []
    ids: dict[int, str | None] = {}
    with SQLAlchemyTokenStore(url) as store:
        mine = [writer * 1000 + n for n in range(users)]
        wait_at_barrier()
        for user in mine:
            token = make_token(**login_values(user, writer))
            try:
                store.save_token(token)
            except Exception as exc:  # noqa: BLE001  # reported to the parent, which asserts
                errors.append(error_text(exc))
            ids[user] = token.get_id()
        for user in mine:
            expected = {**login_values(user, writer), "id": ids[user]}
            try:
                by_id = fields_of(store.find_token_by_id(str(ids[user])))
                probe = make_token(user_name=expected["user_name"])
                found = store.find_token(probe)
                by_name = fields_of(found) if found is not None else None
            except Exception as exc:  # noqa: BLE001  # reported to the parent, which asserts
                errors.append(error_text(exc))
                continue
            if by_id != expected or by_name != expected:
                errors.append(f"user {user}: read {by_id} / {by_name}, expected {expected}")
    return {"errors": errors, "ids": ids}


def refresh_and_read_one_row(
    url: str, writer: int, seeded: dict[str, str], steps: int
) -> dict[str, Any]:
    """All workers start together; each refreshes the same row ``steps`` times, reading after each.

    Every read must be one writer's complete refresh on top of the untouched ``seeded`` fields.
    """
    row_id = seeded["id"]
    untouched = {k: v for k, v in seeded.items() if k not in refresh_values(0, 0)}
    errors: list[str] = []
    reads = 0
    with SQLAlchemyTokenStore(url) as store:
        wait_at_barrier()
        for step in range(steps):
            try:
                store.save_token(make_token(id=row_id, **refresh_values(writer, step)))
                by_id = fields_of(store.find_token_by_id(row_id))
                probe = make_token(user_name=seeded["user_name"])
                found = store.find_token(probe)
            except Exception as exc:  # noqa: BLE001  # reported to the parent, which asserts
                errors.append(error_text(exc))
                continue
            if found is None:
                errors.append("find_token by user name found nothing")
                continue
            for values in (by_id, fields_of(found)):
                reads += 1
                problem = refresh_problem(values)
                if problem:
                    errors.append(problem)
                changed = {k: values[k] for k in untouched if values[k] != untouched[k]}
                if changed:
                    errors.append(f"a refresh changed other fields: {changed}")
    return {"errors": errors, "reads": reads}
