// Command argocd-core is Argo CD's "core" install in one binary: the application controller and the
// repo server, built from the argo-cd module's own cobra commands (as argo-cd's cmd/main.go does,
// without the API server, UI, Dex and CLI). The first argument picks the component.
//
// Usage: argocd-core application-controller|repo-server [flags]
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	// No grpc.DisableSRVLookups() as in argo-cd's cmd/main.go: gRPC >= 1.84 starts with SRV lookups off and
	// only the grpclb balancer turns them on; argo-cd's full binary links it (through its CLI), this one does not,
	// and the workaround panics when it finds them off already.
	commands := map[string]func() *cobra.Command{
		"application-controller": appcontroller.NewCommand,
		"repo-server":            reposerver.NewCommand,
	}
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintf(os.Stderr, "usage: %s application-controller|repo-server [flags]\n", os.Args[0])
		os.Exit(2)
	}
	command := commands[os.Args[1]]()
	command.SetArgs(os.Args[2:])
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
