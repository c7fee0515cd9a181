// Package load reads tagflow's objects from a directory of YAML files, for the standalone
// mode (`tagflow run -f DIR`).
//
// It reads tagflow's image.tagflow.dev/v1 documents (the three image kinds, Receiver,
// Provider and Alert), Flux's image.toolkit.fluxcd.io v1, v1beta2 and v1beta1 documents
// unchanged (converted to image.tagflow.dev/v1; Origin keeps the version, which decides
// whether a commit message template may use Flux's .Updated), Flux's
// notification.toolkit.fluxcd.io Provider and Alert documents of v1beta3, v1beta2 and
// v1beta1 (converted likewise, Origin keeping the version) and Flux's
// source.toolkit.fluxcd.io GitRepository documents, and ignores everything else, so it can
// be pointed at an existing GitOps repository. Every object is defaulted and validated; one
// bad document does not hide the problems of the others, and the good objects are returned
// together with an error listing every problem, each naming its file and line.
package load
