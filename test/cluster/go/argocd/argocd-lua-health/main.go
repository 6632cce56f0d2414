// Command argocd-lua-health judges objects the way Argo CD's application controller does: the
// resource overrides are read from an argocd-cm ConfigMap by Argo CD's own SettingsManager, and
// each object goes through gitops-engine's health.GetResourceHealth with util/lua's
// ResourceHealthOverrides (what controller/health.go and
// `argocd admin settings resource-overrides health --argocd-cm-path` run).
//
// Protocol (for tests, one process for many objects): each line on stdin is a JSON request
// {"configMap": <argocd-cm>, "object": <object>}; each answer is one line on stdout:
// {"status": "...", "message": "..."} ("status" empty when no health check applies) or {"error": "..."}.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/argoproj/argo-cd/gitops-engine/pkg/health"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

type request struct {
	ConfigMap json.RawMessage `json:"configMap"`
	Object    map[string]any  `json:"object"`
}

type answer struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// The SettingsManager reads argocd-cm and argocd-secret from its namespace.
const namespace = "argocd"

// overridesOf reads the resource overrides from argocd-cm as Argo CD does (one SettingsManager per
// distinct ConfigMap: its informers take a while to sync).
func overridesOf(cache map[string]map[string]v1alpha1.ResourceOverride, raw json.RawMessage) (map[string]v1alpha1.ResourceOverride, error) {
	if overrides, ok := cache[string(raw)]; ok {
		return overrides, nil
	}
	var cm corev1.ConfigMap
	if err := json.Unmarshal(raw, &cm); err != nil {
		return nil, fmt.Errorf("configMap: %w", err)
	}
	if cm.Name != common.ArgoCDConfigMapName {
		return nil, fmt.Errorf("configMap: Argo CD reads %q, not %q", common.ArgoCDConfigMapName, cm.Name)
	}
	cm.Namespace = namespace
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: common.ArgoCDSecretName, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}}}
	overrides, err := settings.NewSettingsManager(context.Background(), fake.NewClientset(&cm, secret), namespace).GetResourceOverrides()
	if err != nil {
		return nil, fmt.Errorf("resource overrides: %w", err)
	}
	cache[string(raw)] = overrides
	return overrides, nil
}

func judge(cache map[string]map[string]v1alpha1.ResourceOverride, line []byte) answer {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return answer{Error: fmt.Sprintf("request: %v", err)}
	}
	overrides, err := overridesOf(cache, req.ConfigMap)
	if err != nil {
		return answer{Error: err.Error()}
	}
	status, err := health.GetResourceHealth(&unstructured.Unstructured{Object: req.Object}, lua.ResourceHealthOverrides(overrides))
	switch {
	case err != nil:
		return answer{Error: err.Error()}
	case status == nil:
		return answer{}
	default:
		return answer{Status: string(status.Status), Message: status.Message}
	}
}

func main() {
	cache := map[string]map[string]v1alpha1.ResourceOverride{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		if err := out.Encode(judge(cache, in.Bytes())); err != nil {
			fmt.Fprintln(os.Stderr, "argocd-lua-health:", err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua-health:", err)
		os.Exit(1)
	}
}
