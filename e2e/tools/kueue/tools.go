//go:build tools

// Package tools names what this module builds, so that `go mod tidy` keeps their dependencies:
// Kueue's e2e suite (a package of test files only, built with `go test -c`) and kueuectl (e2e/tools/kueue-e2e.sh);
// Kueue's manager and its scheduler-performance runner (e2e/perf/build-kueue.sh, for scripts/perf.sh).
// Tidy with GONOSUMDB=sigs.k8s.io/scheduler-library (see e2e/tools/kueue-e2e.sh).
package tools

import (
	_ "sigs.k8s.io/kueue/cmd/kueue"
	_ "sigs.k8s.io/kueue/cmd/kueuectl"
	_ "sigs.k8s.io/kueue/test/e2e/singlecluster/baseline"
	_ "sigs.k8s.io/kueue/test/performance/scheduler/runner"
)
