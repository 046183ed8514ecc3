package kubeflags

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// completionTimeout bounds the API request behind -n <TAB> when
// --request-timeout is not given: a shell must not hang on a dead cluster.
const completionTimeout = 5 * time.Second

// completers complete a flag's value from the flags typed so far.
var completers = map[string]func(context.Context, *ConfigFlags) []string{
	FlagContext:   func(_ context.Context, f *ConfigFlags) []string { return sortedKeys(rawConfig(f).Contexts) },
	FlagCluster:   func(_ context.Context, f *ConfigFlags) []string { return sortedKeys(rawConfig(f).Clusters) },
	FlagUser:      func(_ context.Context, f *ConfigFlags) []string { return sortedKeys(rawConfig(f).AuthInfos) },
	FlagNamespace: namespaces,
}

// RegisterCompletions completes, on every command of the tree that has these
// flags, --context, --cluster and --user with the kubeconfig's names and
// -n/--namespace with the cluster's namespaces, as kubectl does. The
// connection flags typed before the word (--kubeconfig, --context, ...) are
// honoured. Call it once the tree is built.
func RegisterCompletions(root *cobra.Command) {
	for name, complete := range completers {
		if root.Flags().Lookup(name) == nil {
			continue
		}
		if _, ok := root.GetFlagCompletionFunc(name); ok {
			continue
		}
		_ = root.RegisterFlagCompletionFunc(name, func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			ctx := c.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			var out []string
			for _, s := range complete(ctx, fromFlags(c.Flags())) {
				if strings.HasPrefix(s, toComplete) {
					out = append(out, s)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		})
	}
	for _, sub := range root.Commands() {
		RegisterCompletions(sub)
	}
}

// fromFlags reads the connection flags as parsed on fs into new ConfigFlags,
// so completion sees what the user typed without a second flag table.
func fromFlags(fs *pflag.FlagSet) *ConfigFlags {
	f := NewConfigFlags(false)
	mine := pflag.NewFlagSet("kubeflags", pflag.ContinueOnError)
	f.AddFlags(mine)
	fs.Visit(func(typed *pflag.Flag) {
		m := mine.Lookup(typed.Name)
		if m == nil {
			return
		}
		if src, ok := typed.Value.(pflag.SliceValue); ok {
			if dst, ok := m.Value.(pflag.SliceValue); ok {
				_ = dst.Replace(src.GetSlice())
				return
			}
		}
		_ = m.Value.Set(typed.Value.String())
	})
	return f
}

// rawConfig is the merged kubeconfig; empty when there is none.
func rawConfig(f *ConfigFlags) clientcmdapi.Config {
	raw, _ := f.ToRawKubeConfigLoader().RawConfig()
	return raw
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// namespaces lists the cluster's namespaces: one List, bounded in time.
func namespaces(ctx context.Context, f *ConfigFlags) []string {
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = completionTimeout
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil
	}
	list, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, ns.GetName())
	}
	sort.Strings(out)
	return out
}

// RegisterNamespaceCompletion completes flag, wherever the tree has it,
// with the cluster's namespaces as -n is completed (xpdoctor's
// --crossplane-namespace names a namespace too).
func RegisterNamespaceCompletion(root *cobra.Command, flag string) {
	if root.Flags().Lookup(flag) != nil {
		if _, ok := root.GetFlagCompletionFunc(flag); !ok {
			_ = root.RegisterFlagCompletionFunc(flag, func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				ctx := c.Context()
				if ctx == nil {
					ctx = context.Background()
				}
				var out []string
				for _, s := range namespaces(ctx, fromFlags(c.Flags())) {
					if strings.HasPrefix(s, toComplete) {
						out = append(out, s)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	for _, sub := range root.Commands() {
		RegisterNamespaceCompletion(sub, flag)
	}
}
