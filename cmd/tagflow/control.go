package main

import (
	"github.com/spf13/pflag"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/standalone"
)

// controlOptions are the flags of the commands that talk to a running "tagflow run", or
// with --kubeconfig or --context to a cluster: reconcile, suspend and resume.
type controlOptions struct {
	runtimeOptions
	namespace   string
	kubeconfig  string
	kubeContext string
}

func (o *controlOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the object (empty: the one object of that kind and name; in a cluster the context's namespace)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "act on the object in the cluster of this kubeconfig file, through tagflow controller, instead of a tagflow run")
	f.StringVar(&o.kubeContext, "context", "", "the kubeconfig context of the cluster ($KUBECONFIG or ~/.kube/config without --kubeconfig)")
	o.runtimeOptions.addFlags(f, false)
}

// inCluster reports whether the command acts on a cluster (--kubeconfig or --context).
func (o *controlOptions) inCluster() bool { return o.kubeconfig != "" || o.kubeContext != "" }

// object reads the KIND NAME arguments; a bad KIND is a usage error.
func (o *controlOptions) object(args []string) (automation.ObjectID, error) {
	kind, err := standalone.ParseKind(args[0])
	if err != nil {
		return automation.ObjectID{}, usageError{err}
	}
	return automation.ObjectID{Kind: kind, Namespace: o.namespace, Name: args[1]}, nil
}
