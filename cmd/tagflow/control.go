package main

import (
	"github.com/spf13/pflag"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/standalone"
)

// controlOptions are the flags of the commands that talk to a running "tagflow run":
// reconcile, suspend and resume.
type controlOptions struct {
	runtimeOptions
	namespace string
}

func (o *controlOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the object (empty: the one object of that kind and name)")
	o.runtimeOptions.addFlags(f, false)
}

// object reads the KIND NAME arguments; a bad KIND is a usage error.
func (o *controlOptions) object(args []string) (automation.ObjectID, error) {
	kind, err := standalone.ParseKind(args[0])
	if err != nil {
		return automation.ObjectID{}, usageError{err}
	}
	return automation.ObjectID{Kind: kind, Namespace: o.namespace, Name: args[1]}, nil
}
