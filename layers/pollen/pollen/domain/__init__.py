"""Pure business rules: no boto3, no Lambda events, no HTTP."""
