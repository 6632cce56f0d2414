# Flux's source-controller and kustomize-controller from one wrapper module (go/flux: both at the same Flux
# release share every dependency; the wrapper repeats their replace directives). Their CRDs are copied from
# the downloaded module sources (config/crd/bases) next to the binaries, never committed here.
# Sourced by test/cluster/build.
FLUX_VERSION="$(json_field flux)"
require_pin go/flux/go.mod "github.com/fluxcd/source-controller $FLUX_VERSION"
require_pin go/flux/go.mod "github.com/fluxcd/kustomize-controller $FLUX_VERSION"

copy_flux_crds() {
  local dir="$1" mod="$2" controller src
  rm -rf "$dir/crds"
  mkdir -p "$dir/crds"
  for controller in source-controller kustomize-controller; do
    src="$(cd "$here/go/$mod" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$controller")/config/crd/bases"
    cp "$src"/*.yaml "$dir/crds/"
  done
  say "flux $FLUX_VERSION: CRDs from the module sources: $(cd "$dir/crds" && echo *.yaml)"
}

AFTER_BUILD=copy_flux_crds build_component "flux $FLUX_VERSION" "$cache/controlplane/flux-$FLUX_VERSION" flux "-s -w" \
  github.com/fluxcd/source-controller github.com/fluxcd/kustomize-controller
