"""Local stand-ins for the cloud services the Workflows API uses (moto, sandbox Messages API)."""

# The local stack's AWS region unless AWS_DEFAULT_REGION says otherwise (moto keeps each
# region's resources apart, so clients of the local stack must use the same one).
LOCAL_REGION = "us-east-1"
