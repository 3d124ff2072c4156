"""DynamoDB: the items of workflows, messages, accounts and applications, and their conditional writes."""
