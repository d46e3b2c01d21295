"""One application on both SDK families (``zohocrmsdk`` 8_0 and ``zcrmsdk`` 2.x, installed side by
side) and one database: each store keeps its own rows in the shared table; the CLI lists both."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from zcrmsdk_support import require_zcrmsdk

require_zcrmsdk()

from zcrmsdk.src.com.zoho.crm.api.record import RecordOperations as RecordOperations2  # noqa: E402

import zoho_tokenstore  # noqa: E402
import zoho_tokenstore.zcrmsdk  # noqa: E402
from sdk_helpers import get_leads, lead_descriptions  # noqa: E402
from zoho_tokenstore.cli import main  # noqa: E402
from zoho_tokenstore.testing import StandInKit  # noqa: E402
from zoho_tokenstore.testing.zcrmsdk_standin import (  # noqa: E402
    ZCRMSDK_API_VERSION,
    zcrmsdk_refresh_token,
)

Rows = Callable[[], list[dict[str, object]]]


def _leads_2x() -> str:
    response = RecordOperations2().get_records("Leads")
    assert response.get_status_code() == 200
    [lead] = response.get_object().get_data()
    return str(lead.get_key_value("Email"))


def test_both_generations_share_one_database_without_touching_each_others_rows(
    zoho_standin: StandInKit, db_url: URL, rows: Rows, capsys: pytest.CaptureFixture[str]
) -> None:
    user = zoho_standin.user  # the same Zoho user logs in through both SDKs
    with (
        zoho_tokenstore.SQLAlchemyTokenStore(db_url) as store8,
        zoho_tokenstore.zcrmsdk.SQLAlchemyTokenStore(db_url) as store2,
    ):
        zoho_standin.initialize_sdk(store8)
        zoho_standin.initialize_zcrmsdk(store2)
        assert lead_descriptions(get_leads()) == [f"fetched by {user.user_name}"]
        assert _leads_2x() == user.email
        by_user = {row["user_name"]: row for row in rows()}
        assert set(by_user) == {user.user_name, user.email}  # "<email>:<zgid>" and the email
        assert by_user[user.user_name]["api_domain"] == zoho_standin.base_url
        assert by_user[user.email]["api_domain"] is None
        assert by_user[user.user_name]["id"] != by_user[user.email]["id"]

        # Each generation restarts from its own row, asking Zoho nothing.
        zoho_standin.server.reset_counts()
        refresh_2x = str(by_user[user.email]["refresh_token"])
        zoho_standin.initialize_zcrmsdk(
            store2, zcrmsdk_refresh_token(zoho_standin.server, refresh_2x)
        )
        refresh_8 = str(by_user[user.user_name]["refresh_token"])
        zoho_standin.initialize_sdk(store8, zoho_standin.refresh_token(refresh_8))
        assert _leads_2x() == user.email
        assert lead_descriptions(get_leads()) == [f"fetched by {user.user_name}"]
        assert zoho_standin.calls["token:refresh_token"] == 0
        assert len(rows()) == 2
        assert zoho_standin.server.api_version_calls[ZCRMSDK_API_VERSION] >= 1

    assert main(["tokens", "--url", db_url.render_as_string(hide_password=False)]) == 0
    listed = capsys.readouterr().out
    assert "2 stored token(s)" in listed and user.email in listed
    assert refresh_2x not in listed and refresh_8 not in listed
