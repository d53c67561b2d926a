//go:build !lean

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/podbay/podbay/cluster"
	"github.com/podbay/podbay/internal/version"
	"github.com/podbay/podbay/kube/manifest"
)

// clusterFlags choose the cluster of kube apply, validate --server and
// play --from-cluster, as kubectl does (Podman's kube apply spells them so).
type clusterFlags struct {
	kubeconfig string
	context    string
	caCertFile string
	namespace  string
}

func (f *clusterFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.kubeconfig, "kubeconfig", "k", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: its current-context)")
	fl.StringVar(&f.caCertFile, "ca-cert-file", "", `the cluster's certificate authority, a PEM file; "insecure" skips verification`)
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace (default: the context's, else default)")
	fl.StringVar(&f.namespace, "ns", "", "same as --namespace (Podman's name)")
}

func (f *clusterFlags) connect(ctx context.Context) (*cluster.Client, error) {
	return cluster.Connect(ctx, cluster.Options{Kubeconfig: f.kubeconfig, Context: f.context,
		CACertFile: f.caCertFile, Namespace: f.namespace, UserAgent: "podbay/" + version.Version})
}

// clusterObjects reads and decodes manifest inputs into objects to send to
// a server, as written (the server judges unknown fields itself); the
// decoder's warnings are printed.
func clusterObjects(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) ([]*unstructured.Unstructured, error) {
	inputs, err := readInputs(ctx, args, stdin)
	if err != nil {
		return nil, err
	}
	set, err := decodeInputs(inputs)
	if err != nil {
		return nil, err
	}
	printFindings(stderr, set.Warnings)
	return setObjects(set), nil
}

func setObjects(set *manifest.Set) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(set.Objects))
	for _, o := range set.Objects {
		out = append(out, &unstructured.Unstructured{Object: o.Doc()})
	}
	return out
}

func printFindings(w io.Writer, fs []manifest.Finding) {
	for _, f := range fs {
		fmt.Fprintln(w, "Warning:", f.Error())
	}
}

// fetchInputs fetches workloads from the cluster (kube play --from-cluster)
// as one manifest input, printing what was referenced but not found.
func fetchInputs(ctx context.Context, f *clusterFlags, refs []string, stderr io.Writer, quiet bool) ([]input, error) {
	c, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	fetched, err := c.Fetch(ctx, refs)
	if err != nil {
		return nil, err
	}
	if !quiet {
		for _, n := range fetched.Notes {
			fmt.Fprintln(stderr, "Note:", n)
		}
	}
	var b bytes.Buffer
	for _, o := range fetched.Objects {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", o.GetKind(), o.GetName(), err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	name := fmt.Sprintf("%s (namespace %s)", strings.Join(refs, " "), c.Namespace)
	return []input{{Name: name, Data: b.Bytes()}}, nil
}
