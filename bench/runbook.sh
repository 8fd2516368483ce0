#!/usr/bin/env bash
# The runbook "API Server High Availability across GKE Clusters" as the plain commands a person types, given a
# ready Compute access token and helm/kubectl on PATH: the baseline bench/baseline.ts times the action against.
# gcloud's `compute disks create` is spelled as the two REST calls it makes (insert, then wait on the operation)
# so that no Python start-up is charged to the script. Needs bash, curl, jq and openssl.
#
# Environment (all required unless a default is shown):
#   COMPUTE      base URL of the Compute API, e.g. https://compute.googleapis.com
#   TOKEN        a Compute access token (gcloud auth print-access-token)
#   PROJECT, ZONE, DISK_NAME, DISK_SIZE (10G)
#   PV_NAME (sky-api-server-pv), PV_CLASS_NAME (sky-api-server-pv-class)
#   KUBECONFIG   the cluster's kubeconfig
#   RELEASE_NAME (skypilot), NAMESPACE (skypilot)
#   CHART_REPO   URL of the SkyPilot Helm repository, e.g. https://helm.skypilot.co
#   WEB_USERNAME (skypilot), WEB_PASSWORD
#   POLL_SECONDS (5): pause between reads of the LoadBalancer Service
set -euo pipefail

: "${COMPUTE:?}" "${TOKEN:?}" "${PROJECT:?}" "${ZONE:?}" "${DISK_NAME:?}" "${KUBECONFIG:?}" "${CHART_REPO:?}"
: "${WEB_PASSWORD:?}"
DISK_SIZE=${DISK_SIZE:-10G}
PV_NAME=${PV_NAME:-sky-api-server-pv}
PV_CLASS_NAME=${PV_CLASS_NAME:-sky-api-server-pv-class}
RELEASE_NAME=${RELEASE_NAME:-skypilot}
NAMESPACE=${NAMESPACE:-skypilot}
WEB_USERNAME=${WEB_USERNAME:-skypilot}
POLL_SECONDS=${POLL_SECONDS:-5}
export KUBECONFIG

# 1. The persistent disk: create it only if it is not there (gcloud compute disks create).
zone_url="$COMPUTE/compute/v1/projects/$PROJECT/zones/$ZONE"
auth="Authorization: Bearer $TOKEN"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$auth" "$zone_url/disks/$DISK_NAME")
if [ "$code" = 404 ]; then
  # gcloud's "10G" is 10 GB; the API takes sizeGb as an int64 string.
  body=$(jq -cn --arg name "$DISK_NAME" --arg size "${DISK_SIZE%G}" '{name: $name, sizeGb: $size}')
  op=$(curl -fsS -X POST -H "$auth" -H 'Content-Type: application/json' -d "$body" "$zone_url/disks")
  name=$(jq -r .name <<<"$op")
  # operations.wait returns when the operation is DONE or after a server-side timeout: ask until DONE.
  while [ "$(jq -r .status <<<"$op")" != DONE ]; do
    op=$(curl -fsS -X POST -H "$auth" -H 'Content-Length: 0' "$zone_url/operations/$name/wait")
  done
  if jq -e .error <<<"$op" >/dev/null; then
    echo "disk creation failed: $(jq -c .error <<<"$op")" >&2
    exit 1
  fi
elif [ "$code" != 200 ]; then
  echo "GET disk $DISK_NAME answered HTTP $code" >&2
  exit 1
fi

# 2. The static PersistentVolume pointing at the disk (sky-pv.yaml).
kubectl apply -f - <<EOF
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $PV_NAME
spec:
  storageClassName: $PV_CLASS_NAME
  capacity:
    storage: $DISK_SIZE
  accessModes:
    - ReadWriteOnce
  persistentVolumeReclaimPolicy: Retain
  csi:
    driver: pd.csi.storage.gke.io
    volumeHandle: projects/$PROJECT/zones/$ZONE/disks/$DISK_NAME
    fsType: ext4
EOF

# 3. The API server from the Helm chart, bound to that volume. openssl prints the same $apr1$ hash as htpasswd -nb.
AUTH_STRING="$WEB_USERNAME:$(openssl passwd -apr1 "$WEB_PASSWORD")"
# Newer charts (storage.existingClaim) default storage.enabled to false: the runbook user sets it.
helm repo add skypilot "$CHART_REPO"
helm upgrade --install "$RELEASE_NAME" skypilot/skypilot-nightly --devel \
  --namespace "$NAMESPACE" \
  --create-namespace \
  --set ingress.authCredentials="$AUTH_STRING" \
  --set storage.enabled=true \
  --set storage.storageClassName="$PV_CLASS_NAME" \
  --set storage.size="$DISK_SIZE"

# 4. The server's address, once the load balancer has one, and its health behind basic auth.
service="$RELEASE_NAME-ingress-nginx-controller"
until address=$(kubectl get svc "$service" -n "$NAMESPACE" \
  -o jsonpath='{.status.loadBalancer.ingress[0].ip}') && [ -n "$address" ]; do
  sleep "$POLL_SECONDS"
done
curl -fsS -u "$WEB_USERNAME:$WEB_PASSWORD" "http://$address/api/health"
echo
echo "API server at http://$address: sky api login -e http://$address"
