// Package kubeflags binds kubectl's connection flags (--kubeconfig, --context,
// -n, --as, ...) to client-go's clientcmd, with kubectl's names, defaults and
// semantics.
//
// It replaces cli-runtime's genericclioptions.ConfigFlags, which links the
// resource builder, kustomize, the OpenAPI clients and every built-in API
// type into the binary (about 22 MB stripped) for the REST config alone. The
// fields and methods xpdoctor uses have the same names as in ConfigFlags, so
// code written against it switches by its import.
package kubeflags

import (
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The flag names, as kubectl has them
// (k8s.io/cli-runtime@v0.37.2 pkg/genericclioptions/config_flags.go).
const (
	FlagKubeConfig      = "kubeconfig"
	FlagCluster         = "cluster"
	FlagUser            = "user"
	FlagContext         = "context"
	FlagNamespace       = "namespace"
	FlagServer          = "server"
	FlagTLSServerName   = "tls-server-name"
	FlagInsecure        = "insecure-skip-tls-verify"
	FlagCertFile        = "client-certificate"
	FlagKeyFile         = "client-key"
	FlagCAFile          = "certificate-authority"
	FlagToken           = "token"
	FlagAs              = "as"
	FlagAsUID           = "as-uid"
	FlagAsGroup         = "as-group"
	FlagAsUserExtra     = "as-user-extra"
	FlagRequestTimeout  = "request-timeout"
	FlagDisableCompress = "disable-compression"
	FlagProxyURL        = "proxy-url"
)

// ConfigFlags are kubectl's connection flags. A nil field is a flag that is
// not registered. Use NewConfigFlags for kubectl's full set.
type ConfigFlags struct {
	KubeConfig *string

	ClusterName          *string
	AuthInfoName         *string
	Context              *string
	Namespace            *string
	APIServer            *string
	TLSServerName        *string
	Insecure             *bool
	CertFile             *string
	KeyFile              *string
	CAFile               *string
	BearerToken          *string
	Impersonate          *string
	ImpersonateUID       *string
	ImpersonateGroup     *[]string
	ImpersonateUserExtra *[]string
	Timeout              *string
	DisableCompression   *bool
	ProxyURL             *string

	persistent bool
	once       sync.Once
	loader     clientcmd.ClientConfig
}

// NewConfigFlags returns kubectl's connection flags with kubectl's defaults.
// With persistent, the kubeconfig is loaded once and reused, as
// genericclioptions.NewConfigFlags(true) does.
func NewConfigFlags(persistent bool) *ConfigFlags {
	str := func() *string { s := ""; return &s }
	timeout := "0" // no per-request timeout, as kubectl
	insecure, disableCompression := false, false
	groups, extras := []string{}, []string{}
	return &ConfigFlags{
		KubeConfig:           str(),
		ClusterName:          str(),
		AuthInfoName:         str(),
		Context:              str(),
		Namespace:            str(),
		APIServer:            str(),
		TLSServerName:        str(),
		Insecure:             &insecure,
		CertFile:             str(),
		KeyFile:              str(),
		CAFile:               str(),
		BearerToken:          str(),
		Impersonate:          str(),
		ImpersonateUID:       str(),
		ImpersonateGroup:     &groups,
		ImpersonateUserExtra: &extras,
		Timeout:              &timeout,
		DisableCompression:   &disableCompression,
		ProxyURL:             str(),
		persistent:           persistent,
	}
}

// AddFlags registers the non-nil fields as flags, with kubectl's names,
// shorthands and help texts.
func (f *ConfigFlags) AddFlags(flags *pflag.FlagSet) {
	str := func(p *string, name, short, usage string) {
		if p != nil {
			flags.StringVarP(p, name, short, *p, usage)
		}
	}
	boolean := func(p *bool, name, usage string) {
		if p != nil {
			flags.BoolVar(p, name, *p, usage)
		}
	}
	array := func(p *[]string, name, usage string) {
		if p != nil {
			flags.StringArrayVar(p, name, *p, usage)
		}
	}
	str(f.KubeConfig, FlagKubeConfig, "", "Path to the kubeconfig file to use for CLI requests.")
	str(f.CertFile, FlagCertFile, "", "Path to a client certificate file for TLS")
	str(f.KeyFile, FlagKeyFile, "", "Path to a client key file for TLS")
	str(f.BearerToken, FlagToken, "", "Bearer token for authentication to the API server")
	str(f.Impersonate, FlagAs, "", "Username to impersonate for the operation. User could be a regular user or a service account in a namespace.")
	str(f.ImpersonateUID, FlagAsUID, "", "UID to impersonate for the operation.")
	array(f.ImpersonateGroup, FlagAsGroup, "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.")
	array(f.ImpersonateUserExtra, FlagAsUserExtra, "User extras to impersonate for the operation, this flag can be repeated to specify multiple values for the same key.")
	str(f.ClusterName, FlagCluster, "", "The name of the kubeconfig cluster to use")
	str(f.AuthInfoName, FlagUser, "", "The name of the kubeconfig user to use")
	str(f.Namespace, FlagNamespace, "n", "If present, the namespace scope for this CLI request")
	str(f.Context, FlagContext, "", "The name of the kubeconfig context to use")
	str(f.APIServer, FlagServer, "s", "The address and port of the Kubernetes API server")
	str(f.TLSServerName, FlagTLSServerName, "", "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used")
	boolean(f.Insecure, FlagInsecure, "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure")
	str(f.CAFile, FlagCAFile, "", "Path to a cert file for the certificate authority")
	str(f.Timeout, FlagRequestTimeout, "", "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")
	boolean(f.DisableCompression, FlagDisableCompress, "If true, opt-out of response compression for all requests to the server")
	str(f.ProxyURL, FlagProxyURL, "", "Proxy URL to use for requests to the API server")
}

// ToRESTConfig is the REST config the flags and the kubeconfig describe.
func (f *ConfigFlags) ToRESTConfig() (*rest.Config, error) {
	return f.ToRawKubeConfigLoader().ClientConfig()
}

// ToRawKubeConfigLoader is the kubeconfig loader with the flags as overrides:
// the kubeconfig files (--kubeconfig, else KUBECONFIG, else ~/.kube/config),
// else the in-cluster config.
func (f *ConfigFlags) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	if !f.persistent {
		return f.newLoader()
	}
	f.once.Do(func() { f.loader = f.newLoader() })
	return f.loader
}

// CurrentContext is the context the loader uses: --context, else the
// kubeconfig's current-context; empty when there is no kubeconfig.
func (f *ConfigFlags) CurrentContext() string {
	if f.Context != nil && *f.Context != "" {
		return *f.Context
	}
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}

// newLoader binds the flags to clientcmd overrides exactly as cli-runtime's
// ConfigFlags.toRawKubeConfigLoader does (v0.37.2), without the deprecated
// --username/--password prompt and without its longer text for an empty
// config (client-go's default server makes that case unreachable).
func (f *ConfigFlags) newLoader() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	// kubectl's legacy default: without a kubeconfig, http://localhost:8080
	// (or $KUBERNETES_MASTER), and kubectl's error when that is refused.
	rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&rules.ExplicitPath, f.KubeConfig)

	o := &clientcmd.ConfigOverrides{ClusterDefaults: clientcmd.ClusterDefaults}
	if f.CertFile != nil {
		o.AuthInfo.ClientCertificate, o.AuthInfo.ClientCertificateData = *f.CertFile, nil
	}
	if f.KeyFile != nil {
		o.AuthInfo.ClientKey, o.AuthInfo.ClientKeyData = *f.KeyFile, nil
	}
	if f.BearerToken != nil {
		o.AuthInfo.Token, o.AuthInfo.TokenFile = *f.BearerToken, ""
	}
	set(&o.AuthInfo.Impersonate, f.Impersonate)
	set(&o.AuthInfo.ImpersonateUID, f.ImpersonateUID)
	if f.ImpersonateGroup != nil {
		o.AuthInfo.ImpersonateGroups = *f.ImpersonateGroup
	}
	if f.ImpersonateUserExtra != nil && len(*f.ImpersonateUserExtra) > 0 {
		o.AuthInfo.ImpersonateUserExtra = userExtras(*f.ImpersonateUserExtra)
	}
	set(&o.ClusterInfo.Server, f.APIServer)
	set(&o.ClusterInfo.TLSServerName, f.TLSServerName)
	set(&o.ClusterInfo.CertificateAuthority, f.CAFile)
	if f.Insecure != nil {
		o.ClusterInfo.InsecureSkipTLSVerify = *f.Insecure
	}
	if f.DisableCompression != nil {
		o.ClusterInfo.DisableCompression = *f.DisableCompression
	}
	set(&o.ClusterInfo.ProxyURL, f.ProxyURL)
	set(&o.CurrentContext, f.Context)
	set(&o.Context.Cluster, f.ClusterName)
	set(&o.Context.AuthInfo, f.AuthInfoName)
	set(&o.Context.Namespace, f.Namespace)
	set(&o.Timeout, f.Timeout)
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, o)
}

// userExtras turns --as-user-extra key=value (repeatable) into a map; a value
// without "=" is ignored, as kubectl does.
func userExtras(kvs []string) map[string][]string {
	out := map[string][]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		out[k] = append(out[k], v)
	}
	return out
}

// ForContext is a copy of the flags that uses the kubeconfig context name,
// every other flag as given: one cluster of several --context values. Its
// kubeconfig is loaded on its own (the copy shares no loader).
func (f *ConfigFlags) ForContext(name string) *ConfigFlags {
	return &ConfigFlags{
		KubeConfig: f.KubeConfig, ClusterName: f.ClusterName, AuthInfoName: f.AuthInfoName, Context: &name,
		Namespace: f.Namespace, APIServer: f.APIServer, TLSServerName: f.TLSServerName, Insecure: f.Insecure,
		CertFile: f.CertFile, KeyFile: f.KeyFile, CAFile: f.CAFile, BearerToken: f.BearerToken,
		Impersonate: f.Impersonate, ImpersonateUID: f.ImpersonateUID, ImpersonateGroup: f.ImpersonateGroup,
		ImpersonateUserExtra: f.ImpersonateUserExtra, Timeout: f.Timeout, DisableCompression: f.DisableCompression,
		ProxyURL: f.ProxyURL, persistent: f.persistent,
	}
}

// Contexts lists the contexts of the kubeconfig (--kubeconfig, else
// KUBECONFIG, else ~/.kube/config), sorted.
func (f *ConfigFlags) Contexts() ([]string, error) {
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, err
	}
	return sortedKeys(raw.Contexts), nil
}
