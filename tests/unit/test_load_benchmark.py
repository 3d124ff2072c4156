"""`make load` waits for the workflows by reading their statuses, 100 at a time."""

import boto3
from dynamodb import REGION, TABLE_NAME

from benchmarks.load import still_running


def test_still_running_reads_only_the_workflows_asked_for_beyond_one_batch(table):
    statuses = ["in_progress", "completed", "error", "cancelled"]
    for i in range(250):
        table.put_item(Item={"pk": f"WORKFLOW#{i}", "status": statuses[i % 4]})
    table.put_item(Item={"pk": "WORKFLOW#not-asked", "status": "in_progress"})
    # The benchmark reads the table as a boto3 resource, from outside the stack.
    resource_table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE_NAME)

    running = still_running(resource_table, {str(i) for i in range(250)})

    assert running == {str(i) for i in range(0, 250, 4)}
