#!/bin/sh
# One-shot job: creates the bucket of RETAIN_ARTIFACTS in SeaweedFS. Safe to run again: a bucket that
# already exists counts as success (`weed shell` exits 1 with "already exists" then).
set -eu
: "${S3_BUCKET:?set S3_BUCKET to the bucket of RETAIN_ARTIFACTS (s3://BUCKET/prefix)}"
master="${WEED_MASTER:-seaweedfs:9333}"
weed="${WEED:-weed}"
if out=$(echo "s3.bucket.create -name $S3_BUCKET" | "$weed" shell -master="$master" 2>&1); then
  echo "$out"
  exit 0
fi
case "$out" in
  *"already exists"*) echo "bucket $S3_BUCKET already exists" ;;
  *) echo "$out" >&2 && exit 1 ;;
esac
