# kube-scheduler, from the same k8s.io/kubernetes wrapper module as the API server (go/kube: every module it
# imports is already in that module graph and go.sum, so the wrapper needs no change). A component of its own
# so that adding it did not change the control plane's stamp: its packages come from GOCACHE, then one link.
# Sourced by test/cluster/build.
build_component "kube-scheduler $K8S_VERSION" "$cache/controlplane/kube-scheduler-$K8S_VERSION" kube "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-scheduler
