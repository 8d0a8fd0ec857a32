"""The single-table repository: the only package that talks to DynamoDB (boto3)."""
