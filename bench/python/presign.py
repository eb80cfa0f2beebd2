"""The baseline: a presign function in Python with boto3, as the original specification has it.

The S3 client is made at import (the function's init); each invocation presigns one PUT of the
first file the request names, with its Content-MD5 signed.
"""
import json
import os
import uuid

import boto3
from botocore.config import Config

# SigV4, as Ferry signs: S3 accepts nothing older in regions opened since 2014.
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
BUCKET = os.environ["BUCKET_NAME"]


def handler(event, context):
    body = json.loads(event.get("body") or "{}")
    upload = body["files"][0]
    key = f"transfers/{uuid.uuid4()}/{uuid.uuid4()}"
    url = s3.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": BUCKET,
            "Key": key,
            "ContentType": upload["content_type"],
            "ContentMD5": upload["md5"],
        },
        ExpiresIn=900,
    )
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"key": key, "upload": {"method": "PUT", "url": url}}),
    }
