#!/bin/sh
# One-shot MinIO set-up for docker/compose.yaml (idempotent, safe to rerun): the bucket, and an
# application user limited to that bucket, so no recsys process ever holds the root credentials.
set -eu
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${RECSYS_BUCKET:?}"
: "${RECSYS_S3_ACCESS_KEY:?}" "${RECSYS_S3_SECRET_KEY:?}"
policy=recsys-rw
mc alias set store http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "store/$RECSYS_BUCKET"
cat > /tmp/policy.json <<JSON
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
   "Resource": ["arn:aws:s3:::$RECSYS_BUCKET"]},
  {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
   "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
   "Resource": ["arn:aws:s3:::$RECSYS_BUCKET/*"]}]}
JSON
mc admin policy create store "$policy" /tmp/policy.json
mc admin user add store "$RECSYS_S3_ACCESS_KEY" "$RECSYS_S3_SECRET_KEY" >/dev/null
# Attaching an attached policy is an error, so look first (plain sh: the image has no grep).
info=$(mc admin user info store "$RECSYS_S3_ACCESS_KEY")
case "$info" in
  *"$policy"*) ;;
  *) mc admin policy attach store "$policy" --user "$RECSYS_S3_ACCESS_KEY" ;;
esac
# The step-log account (docker/dagster.yaml compute_logs): its prefix only.
: "${DAGSTER_LOGS_ACCESS_KEY:?}" "${DAGSTER_LOGS_SECRET_KEY:?}"
logs_policy=recsys-dagster-logs
cat > /tmp/logs-policy.json <<JSON
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::$RECSYS_BUCKET"],
   "Condition": {"StringLike": {"s3:prefix": ["dagster-logs/*"]}}},
  {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
   "Resource": ["arn:aws:s3:::$RECSYS_BUCKET/dagster-logs/*"]}]}
JSON
mc admin policy create store "$logs_policy" /tmp/logs-policy.json
mc admin user add store "$DAGSTER_LOGS_ACCESS_KEY" "$DAGSTER_LOGS_SECRET_KEY" >/dev/null
info=$(mc admin user info store "$DAGSTER_LOGS_ACCESS_KEY")
case "$info" in
  *"$logs_policy"*) ;;
  *) mc admin policy attach store "$logs_policy" --user "$DAGSTER_LOGS_ACCESS_KEY" ;;
esac
echo "bucket $RECSYS_BUCKET ready; user $RECSYS_S3_ACCESS_KEY has policy $policy;" \
  "user $DAGSTER_LOGS_ACCESS_KEY has policy $logs_policy"
