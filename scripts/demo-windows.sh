#!/usr/bin/env bash
# The time-window part of the demo (run by `bash scripts/demo.sh windows` once the manager and the
# demo queue are up): a night-only policy on ClusterQueue `demo` whose "night" is seconds long, so
# that a close and a reopen happen while you watch. A 12-completion Indexed Job runs; the window
# closes (Drain): the Job is suspended, its succeeded pods stay; the window reopens: the Job is
# re-admitted and runs only the remaining indexes. docs/time-windows.md explains every step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
kubectl="$1"
now=$(date -u +%s)
# Open since a minute ago until 25 s from now; the next "night" opens 30 s after that.
open_start=$((now - 60)); close_at=$((now + 25)); reopen_at=$((close_at + 30))
hms() { date -u -d "@$1" +%H:%M:%S; }
day() { date -u -d "@$1" +%a; }
"$kubectl" delete job night-demo -n default --ignore-not-found --wait=true >/dev/null
"$kubectl" apply --server-side --field-manager=turnstile-demo -f - <<EOT
apiVersion: turnstile.dev/v1alpha1
kind: TimeWindowPolicy
metadata:
  name: night-only-demo
spec:
  targets:
    clusterQueues: [demo]
  timeZone: UTC
  mode: AllowDuring
  windows:
  - days: [$(day "$open_start")]
    start: "$(hms "$open_start")"
    duration: $((close_at - open_start))s
  - days: [$(day "$reopen_at")]
    start: "$(hms "$reopen_at")"
    duration: 1h
  onClose:
    action: Drain
    drainGracePeriodSeconds: 0
    maxConcurrentSuspensions: 10
EOT
"$kubectl" create -n default -f - <<'EOT'
apiVersion: batch/v1
kind: Job
metadata:
  name: night-demo
  labels:
    kueue.x-k8s.io/queue-name: demo
spec:
  completionMode: Indexed
  completions: 12
  parallelism: 3
  template:
    metadata:
      annotations:
        pod-complete.stage.kwok.x-k8s.io/delay: "4s"
        pod-complete.stage.kwok.x-k8s.io/jitter-delay: "4s"
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
        resources:
          requests: {cpu: "1", memory: 1Gi}
EOT
echo "==> live view: the window closes at $(hms "$close_at") UTC and reopens at $(hms "$reopen_at") UTC"
for _ in $(seq 60); do
  echo
  echo "--- $(date -u +%T) UTC"
  "$kubectl" get timewindowpolicy night-only-demo
  "$kubectl" get job night-demo -n default -o custom-columns='JOB:.metadata.name,SUSPENDED:.spec.suspend,ACTIVE:.status.active,SUCCEEDED:.status.succeeded,COMPLETED-INDEXES:.status.completedIndexes'
  "$kubectl" get workloads -n default -l kueue.x-k8s.io/job-uid="$("$kubectl" get job night-demo -n default -o jsonpath='{.metadata.uid}')" \
    -o custom-columns='WORKLOAD:.metadata.name,RESERVED:.status.conditions[?(@.type=="QuotaReserved")].status,EVICTED:.status.conditions[?(@.type=="Evicted")].reason,REQUEUED:.status.conditions[?(@.type=="Requeued")].reason'
  complete="$("$kubectl" get job night-demo -n default -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}')"
  [[ "$complete" == "True" ]] && break
  sleep 2
done
echo
echo "==> succeeded pods of night-demo (one per index, those before the close kept):"
"$kubectl" get pods -n default -l batch.kubernetes.io/job-name=night-demo --field-selector=status.phase=Succeeded \
  -o custom-columns='POD:.metadata.name,INDEX:.metadata.annotations.batch\.kubernetes\.io/job-completion-index,CREATED:.metadata.creationTimestamp' --sort-by=.metadata.creationTimestamp
echo
echo "==> events of the policy:"
"$kubectl" get events -A --field-selector involvedObject.kind=TimeWindowPolicy -o custom-columns='TIME:.eventTime,REASON:.reason,COUNT:.series.count,MESSAGE:.message' 2>/dev/null || true
