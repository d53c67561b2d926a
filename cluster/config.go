package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/homedir"
)

// Insecure is the --ca-cert-file value that turns TLS verification off, as Podman spells it.
const Insecure = "insecure"

// requestTimeout bounds one request to the API server.
const requestTimeout = 30 * time.Second

// Options say which cluster to talk to and how, as kubectl finds it.
type Options struct {
	// Kubeconfig is the kubeconfig file; empty: $KUBECONFIG, then ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context to use; empty: its current-context.
	Context string
	// CACertFile replaces the cluster's certificate authority; Insecure skips verification.
	CACertFile string
	// Namespace replaces the context's namespace (itself "default" when unset).
	Namespace string
	// UserAgent names podbay to the server.
	UserAgent string
}

// Client talks to one cluster: the one Options chose.
type Client struct {
	dyn dynamic.Interface
	res *resources
	// get reads a path of the server as JSON (nil: drops the answer).
	get func(ctx context.Context, path string, into any) error
	// Namespace is where objects without one go: Options.Namespace, else the context's.
	Namespace string
	// NamespaceGiven is true when Options.Namespace was set: an object naming
	// another namespace is then an error, as with kubectl -n.
	NamespaceGiven bool
	// Server is the API server's URL; Context the kubeconfig context (with its file).
	Server, Context string
}

// Connect loads the kubeconfig and checks that the server answers and accepts
// the credentials, so that an unreachable server or a bad token is one clear
// error rather than one per object.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	r, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	c, err := newClient(r.cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", r.where, err)
	}
	c.Server, c.Context = r.cfg.Host, r.where
	c.Namespace, c.NamespaceGiven = r.namespace, opts.Namespace != ""
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// resolved is a client configuration, where it came from ("context X of
// FILE") and the namespace objects without one go to.
type resolved struct {
	cfg              *rest.Config
	where, namespace string
}

// resolve finds the kubeconfig and context as kubectl does and applies opts.
func resolve(opts Options) (*resolved, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
		// client-go fixed $HOME when the program started; this reads it now.
		rules.Precedence = []string{filepath.Join(homedir.HomeDir(), clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)}
	}
	rules.ExplicitPath = opts.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: opts.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig: %w", err)
	}
	name := opts.Context
	if name == "" {
		name = raw.CurrentContext
	}
	r := &resolved{where: fmt.Sprintf("context %q of %s", name, kubeconfigFiles(rules))}
	if r.cfg, err = cc.ClientConfig(); err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no kubeconfig: give --kubeconfig, set KUBECONFIG or write ~/.kube/config")
		}
		return nil, fmt.Errorf("kubeconfig %s: %w", r.where, err)
	}
	if r.namespace, _, err = cc.Namespace(); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", r.where, err)
	}
	if opts.Namespace != "" {
		r.namespace = opts.Namespace
	}
	cfg := r.cfg
	if err := setCA(cfg, opts.CACertFile); err != nil {
		return nil, err
	}
	cfg.Timeout = requestTimeout
	cfg.UserAgent = opts.UserAgent
	cfg.WarningHandlerWithContext = warningCollector{}
	// No client-side rate limit (client-go's default is 5 requests a second):
	// Apply has at most parallelApplies requests in flight, and the server's
	// priority and fairness queues its clients itself.
	cfg.QPS = -1
	return r, nil
}

// kubeconfigFiles names the file(s) the configuration was read from.
func kubeconfigFiles(rules *clientcmd.ClientConfigLoadingRules) string {
	if rules.ExplicitPath != "" {
		return rules.ExplicitPath
	}
	var found []string
	for _, p := range rules.Precedence {
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return filepath.Join("~", ".kube", "config")
	case 1:
		return found[0]
	}
	return fmt.Sprintf("%v", found)
}

// setCA applies --ca-cert-file: a file of PEM certificates that replaces the
// kubeconfig's authority, or Insecure, which turns verification off.
func setCA(cfg *rest.Config, caFile string) error {
	switch caFile {
	case "":
		return nil
	case Insecure:
		cfg.TLSClientConfig.Insecure = true
		cfg.TLSClientConfig.CAFile, cfg.TLSClientConfig.CAData = "", nil
		return nil
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("--ca-cert-file: %w", err)
	}
	cfg.TLSClientConfig.Insecure = false
	cfg.TLSClientConfig.CAFile, cfg.TLSClientConfig.CAData = "", data
	return nil
}

func newClient(cfg *rest.Config) (*Client, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, err
	}
	get := func(ctx context.Context, path string, into any) error {
		return getJSON(ctx, hc, base, cfg.UserAgent, path, into)
	}
	return &Client{dyn: dyn, res: &resources{get: get}, get: get}, nil
}

// check asks the server for its version: it answers any authenticated
// client, so a failure means an unreachable server or refused credentials.
func (c *Client) check(ctx context.Context) error {
	if err := c.get(ctx, "/version", nil); err != nil {
		return c.reachError(err)
	}
	return nil
}
