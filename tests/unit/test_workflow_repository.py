"""The workflow store's reads that no domain test drives (dispatch.storage.workflow_repository),
on moto: the account's listing and the final report kept for every callback retry."""

from __future__ import annotations

from datetime import timedelta

from fakes import ACCOUNT_ID, CREATED_AT, canonical_item

from dispatch.storage.workflow_repository import WorkflowRepository

UUIDS = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(5)]


def store_five(workflows: WorkflowRepository) -> None:
    """Five workflows of the account, a minute apart; the odd ones cancelled."""
    for i, dispatch_uuid in enumerate(UUIDS):
        item = canonical_item(dispatch_uuid=dispatch_uuid)
        created_at = (CREATED_AT + timedelta(minutes=i)).isoformat()
        item.update(created_at=created_at, gsi1sk=f"{created_at}#{dispatch_uuid}")
        if i % 2:
            item["status"] = "cancelled"
        workflows.create(item)
    other = canonical_item(dispatch_uuid="00000000-0000-4000-8000-0000000000ff")
    other.update(account_id="someone-else", gsi1pk="ACCOUNT#someone-else#WORKFLOWS")
    workflows.create(other)


def test_an_accounts_workflows_are_listed_newest_first_page_by_page(workflows) -> None:
    store_five(workflows)

    first, key = workflows.list_for_account(ACCOUNT_ID, status=None, limit=3, start_key=None)
    rest, end = workflows.list_for_account(ACCOUNT_ID, status=None, limit=3, start_key=key)

    assert [item["dispatch_uuid"] for item in first + rest] == UUIDS[::-1]
    assert key is not None and end is None


def test_a_status_filter_lists_only_that_status(workflows) -> None:
    store_five(workflows)
    listed, _ = workflows.list_for_account(ACCOUNT_ID, status="cancelled", limit=10, start_key=None)
    assert [item["dispatch_uuid"] for item in listed] == [UUIDS[3], UUIDS[1]]


def test_the_first_final_report_is_kept_for_every_retry(workflows) -> None:
    workflows.create(canonical_item())
    dispatch_uuid = canonical_item()["dispatch_uuid"]

    first, first_is_new = workflows.store_final_report(dispatch_uuid, {"status": "completed", "n": 1})
    again, again_is_new = workflows.store_final_report(dispatch_uuid, {"status": "completed", "n": 2})

    assert first == again == {"status": "completed", "n": 1}
    # Only the first is new: the workflow's outcome is counted once (see dispatch.domain.outcomes).
    assert (first_is_new, again_is_new) == (True, False)
