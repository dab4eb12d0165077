//go:build tools

// Package tools pins the Kubernetes commands this module builds for Vivo's tests (the control plane, and kubectl where none is installed).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
