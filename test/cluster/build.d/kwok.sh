# KWOK's node agent (`kwok`: fake kubelets driven by Stages), from its own wrapper module (go/kwok: kwok's
# go.mod has no replace directives, but it pins its own k8s.io/* v0.36 line, kept apart from go/kube).
# `kwok` loads no stages by default (kwokctl writes them): its Node stages (initialize, heartbeat with a
# lease) are copied from the module sources next to the binary; the Pod stages are the tests' own
# (kwok-pod-stages.yaml). Sourced by test/cluster/build.
KWOK_VERSION="$(json_field kwok)"
require_pin go/kwok/go.mod "sigs.k8s.io/kwok $KWOK_VERSION"

copy_kwok_node_stages() {
  local dir="$1" src
  src="$(module_source "$2" sigs.k8s.io/kwok)/kustomize/stage/node"
  rm -rf "$dir/stages"
  mkdir -p "$dir/stages"
  cp "$src/fast/node-initialize.yaml" "$src/heartbeat-with-lease/node-heartbeat-with-lease.yaml" "$dir/stages/"
}

AFTER_BUILD=copy_kwok_node_stages build_component "kwok $KWOK_VERSION" "$cache/controlplane/kwok-$KWOK_VERSION" kwok \
  "-s -w" sigs.k8s.io/kwok/cmd/kwok
