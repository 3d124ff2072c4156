"""The rules, in plain Python: workflow requests, failover and statuses, sending, accounts and credentials."""
