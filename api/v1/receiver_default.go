package v1

// Default fills in the defaults of a Receiver: the kind of each spec.resources entry.
func (in *Receiver) Default() {
	for i := range in.Spec.Resources {
		if in.Spec.Resources[i].Kind == "" {
			in.Spec.Resources[i].Kind = ImageRepositoryKind
		}
	}
}
