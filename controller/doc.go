// Package controller is tagflow's Kubernetes front end: controller-runtime reconcilers for
// the ImageRepository, ImagePolicy and ImageUpdateAutomation custom resources, thin over
// package automation, which does the scanning, evaluating and committing for both runtimes.
//
// The reconcilers read the objects (and the Secrets, ServiceAccounts and Namespaces they
// refer to), validate and convert them into automation's plain configuration, apply it to
// the engine, and write what the engine reports back into each object's status as kstatus
// conditions (Ready, Reconciling, Stalled) with observedGeneration, and as Kubernetes
// events. This is the only package of tagflow that imports controller-runtime.
//
// Only the elected leader reconciles and runs the engine; the other replicas keep warm
// caches and take over when the lease moves.
package controller
