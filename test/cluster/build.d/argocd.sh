# Argo CD v3.5.x from one wrapper module (go/argocd, the replace directives of argo-cd's go.mod, and its
# gitops-engine, which argo-cd replaces with a local directory, pinned to a version the proxy serves):
# - argocd-lua-health: Argo CD's own health path (SettingsManager reading argocd-cm, gitops-engine's
#   GetResourceHealth, util/lua's VM) for the health-check tests;
# - argocd-core: the application controller and the repo server ("core" install: no API server, UI or Dex).
# Their CRDs (manifests/crds of the module zip) are copied next to the binaries, and so is hack/git-verify-wrapper.sh,
# which Argo CD's image has on PATH and the repo server runs for every manifest generation; never committed here.
# Sourced by test/cluster/build.
ARGOCD_VERSION="$(json_field argocd)"
require_pin go/argocd/go.mod "github.com/argoproj/argo-cd/v3 $ARGOCD_VERSION"

copy_argocd_files() {
  local dir="$1" src
  src="$(module_source "$2" github.com/argoproj/argo-cd/v3)"
  rm -rf "$dir/crds"
  mkdir -p "$dir/crds"
  cp "$src/manifests/crds/application-crd.yaml" "$src/manifests/crds/appproject-crd.yaml" "$dir/crds/"
  install -m 0755 "$src/hack/git-verify-wrapper.sh" "$dir/bin/git-verify-wrapper.sh"
  say "argocd $ARGOCD_VERSION: from the module sources: $(cd "$dir/crds" && echo *.yaml) git-verify-wrapper.sh"
}

argocd_ldflags="-s -w -X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v}"
AFTER_BUILD=copy_argocd_files build_component "argocd $ARGOCD_VERSION" "$cache/controlplane/argocd-$ARGOCD_VERSION" argocd "$argocd_ldflags" \
  ./argocd-lua-health ./argocd-core
