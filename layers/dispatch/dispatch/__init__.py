"""Domain code of the Workflows API, shared by every function through the Lambda layer.

Plain Python: nothing here reads environment variables at import time, so the same modules
serve every function (and the tests) with the configuration each one passes in.
"""
