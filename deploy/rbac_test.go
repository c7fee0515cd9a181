package deploy_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// grant is one permission: a verb on a resource (with its subresource) of an API group.
type grant struct{ group, resource, verb string }

func (g grant) String() string { return g.group + " " + g.resource + " " + g.verb }

func grants(groups, resources, verbs []string) []string {
	var out []string
	for _, g := range groups {
		for _, r := range resources {
			for _, v := range verbs {
				out = append(out, grant{g, r, v}.String())
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// clusterGrants is everything the controller may do across the cluster, and nothing more.
func clusterGrants() []string {
	kinds := []string{"imagerepositories", "imagepolicies", "imageupdateautomations", "receivers", "providers", "alerts"}
	suffixed := func(s string) []string {
		var out []string
		for _, k := range kinds {
			out = append(out, k+s)
		}
		return out
	}
	var all []string
	all = append(all, grants([]string{"image.tagflow.dev"}, kinds, []string{"get", "list", "watch", "patch", "update"})...)
	all = append(all, grants([]string{"image.tagflow.dev"}, suffixed("/status"), []string{"get", "patch", "update"})...)
	all = append(all, grants([]string{"image.tagflow.dev"}, suffixed("/finalizers"), []string{"update"})...)
	all = append(all, grants([]string{""}, []string{"secrets", "serviceaccounts"}, []string{"get", "list", "watch"})...)
	all = append(all, grants([]string{""}, []string{"serviceaccounts/token"}, []string{"create"})...)
	all = append(all, grants([]string{""}, []string{"namespaces"}, []string{"get"})...)
	all = append(all, grants([]string{"", "events.k8s.io"}, []string{"events"}, []string{"create", "patch"})...)
	all = append(all, grants([]string{"source.toolkit.fluxcd.io"}, []string{"gitrepositories"}, []string{"get", "list", "watch"})...)
	sort.Strings(all)
	return all
}

// leaseGrants is what leader election needs in the controller's namespace.
// fluxGrants are what the controller needs besides clusterGrants with --api=flux: Flux's
// image kinds (deploy/flux, the chart's api: flux).
func fluxGrants() []string {
	var all []string
	for _, k := range []string{"imagerepositories", "imagepolicies", "imageupdateautomations"} {
		all = append(all, grants([]string{"image.toolkit.fluxcd.io"}, []string{k}, []string{"get", "list", "watch", "patch", "update"})...)
		all = append(all, grants([]string{"image.toolkit.fluxcd.io"}, []string{k + "/status"}, []string{"get", "patch", "update"})...)
		all = append(all, grants([]string{"image.toolkit.fluxcd.io"}, []string{k + "/finalizers"}, []string{"update"})...)
	}
	return all
}

func leaseGrants() []string {
	return grants([]string{"coordination.k8s.io"}, []string{"leases"},
		[]string{"get", "list", "watch", "create", "update", "patch", "delete"})
}

// expand lists the grants of rules, failing on wildcards, resourceNames and URLs, which the
// controller never needs.
func expand(t *testing.T, where string, rules []rbacv1.PolicyRule) []string {
	t.Helper()
	var out []string
	for _, r := range rules {
		for _, s := range slices.Concat(r.APIGroups, r.Resources, r.Verbs) {
			if strings.Contains(s, "*") {
				t.Errorf("%s: wildcard %q in rule %+v", where, s, r)
			}
		}
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("%s: unexpected resourceNames or nonResourceURLs in rule %+v", where, r)
		}
		out = append(out, grants(r.APIGroups, r.Resources, r.Verbs)...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// checkRBAC fails the test unless objs grant the controller's ServiceAccount exactly
// clusterGrants through one ClusterRole and exactly leaseGrants through one Role in
// leaseNamespace (none when leaseNamespace is empty: leader election off).
func checkRBAC(t *testing.T, source string, objs []*unstructured.Unstructured, leaseNamespace string) {
	t.Helper()
	convert := func(o *unstructured.Unstructured, into any) {
		t.Helper()
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true); err != nil {
			t.Fatalf("%s: %s: %v", source, key(o), err)
		}
	}
	deps := deployments(t, objs)
	if len(deps) != 1 {
		t.Fatalf("%s: %d Deployments, want 1", source, len(deps))
	}
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: deps[0].Spec.Template.Spec.ServiceAccountName, Namespace: deps[0].Namespace}
	if sa.Name == "" {
		t.Errorf("%s: the Deployment names no serviceAccountName", source)
	}

	roles := ofKind(objs, "ClusterRole")
	if len(roles) != 1 {
		t.Fatalf("%s: %d ClusterRoles, want 1", source, len(roles))
	}
	var cr rbacv1.ClusterRole
	convert(roles[0], &cr)
	wantGrants := clusterGrants()
	if slices.Contains(deps[0].Spec.Template.Spec.Containers[0].Args, "--api=flux") {
		wantGrants = append(wantGrants, fluxGrants()...)
		sort.Strings(wantGrants)
	}
	if diff := cmp.Diff(wantGrants, expand(t, source+": ClusterRole "+cr.Name, cr.Rules)); diff != "" {
		t.Errorf("%s: ClusterRole %s grants (-want +got):\n%s", source, cr.Name, diff)
	}
	crbs := ofKind(objs, "ClusterRoleBinding")
	if len(crbs) != 1 {
		t.Fatalf("%s: %d ClusterRoleBindings, want 1", source, len(crbs))
	}
	var crb rbacv1.ClusterRoleBinding
	convert(crbs[0], &crb)
	want := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: cr.Name}
	if diff := cmp.Diff(want, crb.RoleRef); diff != "" {
		t.Errorf("%s: ClusterRoleBinding %s roleRef (-want +got):\n%s", source, crb.Name, diff)
	}
	if diff := cmp.Diff([]rbacv1.Subject{sa}, crb.Subjects); diff != "" {
		t.Errorf("%s: ClusterRoleBinding %s subjects (-want +got):\n%s", source, crb.Name, diff)
	}

	if sas := ofKind(objs, "ServiceAccount"); len(sas) != 1 || sas[0].GetName() != sa.Name || sas[0].GetNamespace() != sa.Namespace {
		t.Errorf("%s: ServiceAccounts %v, want exactly %s/%s", source, keys(sas), sa.Namespace, sa.Name)
	}

	nsRoles, nsBindings := ofKind(objs, "Role"), ofKind(objs, "RoleBinding")
	if leaseNamespace == "" {
		if len(nsRoles)+len(nsBindings) != 0 {
			t.Errorf("%s: Roles or RoleBindings rendered without leader election: %v", source, keys(slices.Concat(nsRoles, nsBindings)))
		}
		return
	}
	if len(nsRoles) != 1 || len(nsBindings) != 1 {
		t.Fatalf("%s: %d Roles and %d RoleBindings, want 1 each", source, len(nsRoles), len(nsBindings))
	}
	var role rbacv1.Role
	var rb rbacv1.RoleBinding
	convert(nsRoles[0], &role)
	convert(nsBindings[0], &rb)
	if role.Namespace != leaseNamespace || rb.Namespace != leaseNamespace {
		t.Errorf("%s: leader-election Role in %q and RoleBinding in %q, want %q", source, role.Namespace, rb.Namespace, leaseNamespace)
	}
	if diff := cmp.Diff(leaseGrants(), expand(t, source+": Role "+role.Name, role.Rules)); diff != "" {
		t.Errorf("%s: Role %s grants (-want +got):\n%s", source, role.Name, diff)
	}
	wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name}
	if diff := cmp.Diff(wantRef, rb.RoleRef); diff != "" {
		t.Errorf("%s: RoleBinding %s roleRef (-want +got):\n%s", source, rb.Name, diff)
	}
	if diff := cmp.Diff([]rbacv1.Subject{sa}, rb.Subjects); diff != "" {
		t.Errorf("%s: RoleBinding %s subjects (-want +got):\n%s", source, rb.Name, diff)
	}
}
