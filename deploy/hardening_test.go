package deploy_test

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// controllerFlags are the flags of `tagflow controller` (its contract); a rendered argument
// outside this list is a typo or a flag the binary does not have.
var controllerFlags = []string{
	"metrics-addr", "health-addr", "webhook-addr", "leader-elect", "leader-election-namespace",
	"watch-label-selector", "watch-namespace", "data-dir", "concurrency", "log-format", "log-level",
	"registry-rate", "registry-limit", "api", "ui-addr", "ui-token-file",
}

// checkDeployment fails the test for every way d falls short of how tagflow's controller must
// run: the controller command with known flags, a non-root user, a read-only root filesystem,
// no privilege escalation, no capabilities, the RuntimeDefault seccomp profile, requests and
// limits, liveness and readiness probes on /healthz and /readyz of --health-addr, ports that
// match the flags, writable volumes at the data directory and /tmp, the status page's token
// (--ui-token-file) in a Secret mounted read-only, and POD_NAMESPACE.
func checkDeployment(t testing.TB, source string, d *appsv1.Deployment) {
	t.Helper()
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: Deployment %s/%s: %s", source, d.Namespace, d.Name, fmt.Sprintf(format, args...))
	}
	pod := d.Spec.Template.Spec
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		errorf("uses the host's network, PID or IPC namespace")
	}
	if len(pod.Containers) != 1 {
		errorf("has %d containers, want 1", len(pod.Containers))
		return
	}
	if len(pod.InitContainers) != 0 {
		errorf("has init containers")
	}
	c := pod.Containers[0]
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	sc := c.SecurityContext
	if sc == nil {
		errorf("container %s has no securityContext", c.Name)
		return
	}

	// Security context: the container's own, or the pod's where the container inherits it.
	if !isTrue(sc.RunAsNonRoot) && !(sc.RunAsNonRoot == nil && isTrue(psc.RunAsNonRoot)) {
		errorf("runAsNonRoot is not true")
	}
	for _, uid := range []*int64{sc.RunAsUser, psc.RunAsUser} {
		if uid != nil && *uid == 0 {
			errorf("runs as user 0")
		}
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		errorf("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		errorf("allowPrivilegeEscalation is not false")
	}
	if isTrue(sc.Privileged) {
		errorf("is privileged")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		errorf("does not drop ALL capabilities")
	} else if len(sc.Capabilities.Add) > 0 {
		errorf("adds capabilities %v", sc.Capabilities.Add)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		errorf("seccompProfile is not RuntimeDefault")
	}

	// Resources.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			errorf("no %s request", r)
		}
		if q, ok := c.Resources.Limits[r]; !ok || q.IsZero() {
			errorf("no %s limit", r)
		}
	}

	// Arguments: `controller` and known flags, and the addresses they give.
	if len(c.Args) == 0 || c.Args[0] != "controller" {
		errorf("args %q do not start with the controller command", c.Args)
	}
	flags := map[string]string{}
	for _, a := range c.Args[min(1, len(c.Args)):] {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !slices.Contains(controllerFlags, name) {
			errorf("argument %q is not a flag of tagflow controller (%s)", a, strings.Join(controllerFlags, ", "))
			continue
		}
		flags[name] = value
	}
	for _, f := range []string{"metrics-addr", "health-addr", "webhook-addr", "data-dir"} {
		if flags[f] == "" {
			errorf("no --%s", f)
		}
	}
	port := func(flag, portName string) {
		t.Helper()
		_, p, err := net.SplitHostPort(flags[flag])
		if err != nil {
			errorf("--%s=%s: %v", flag, flags[flag], err)
			return
		}
		for _, cp := range c.Ports {
			if cp.Name == portName {
				if fmt.Sprint(cp.ContainerPort) != p {
					errorf("port %s is %d, but --%s listens on %s", portName, cp.ContainerPort, flag, p)
				}
				return
			}
		}
		errorf("no container port named %s (for --%s)", portName, flag)
	}
	port("metrics-addr", "metrics")
	port("health-addr", "health")
	port("webhook-addr", "webhook")
	if flags["ui-addr"] != "" {
		port("ui-addr", "ui")
	}
	if f := flags["ui-token-file"]; f != "" {
		if flags["ui-addr"] == "" {
			errorf("--ui-token-file without --ui-addr")
		}
		if !secretMount(pod, c, f) {
			errorf("--ui-token-file=%s is not a file of a Secret volume mounted read-only", f)
		}
	}

	// Probes.
	probe := func(what string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			errorf("no HTTP %s probe", what)
			return
		}
		if p.HTTPGet.Path != path {
			errorf("%s probe path is %s, want %s", what, p.HTTPGet.Path, path)
		}
		if p.HTTPGet.Port != intstr.FromString("health") {
			errorf("%s probe port is %s, want the health port", what, p.HTTPGet.Port.String())
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")

	// Writable volumes where the root filesystem is read-only.
	for _, dir := range []string{flags["data-dir"], "/tmp"} {
		if !writableMount(pod, c, dir) {
			errorf("no writable volume mounted at %s", dir)
		}
	}

	// Environment.
	envOK := func(name string, ok func(*corev1.EnvVarSource) bool) {
		t.Helper()
		for _, e := range c.Env {
			if e.Name == name {
				if e.ValueFrom == nil || !ok(e.ValueFrom) {
					errorf("env %s does not come from the downward API as expected", name)
				}
				return
			}
		}
		errorf("no env %s", name)
	}
	envOK("POD_NAMESPACE", func(s *corev1.EnvVarSource) bool {
		return s.FieldRef != nil && s.FieldRef.FieldPath == "metadata.namespace"
	})
	envOK("GOMEMLIMIT", func(s *corev1.EnvVarSource) bool {
		return s.ResourceFieldRef != nil && s.ResourceFieldRef.Resource == "limits.memory"
	})
}

func isTrue(b *bool) bool { return b != nil && *b }

// writableMount reports whether c mounts a writable emptyDir or persistent volume at dir.
func writableMount(pod corev1.PodSpec, c corev1.Container, dir string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != dir || m.ReadOnly {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && (v.EmptyDir != nil || v.PersistentVolumeClaim != nil || v.Ephemeral != nil) {
				return true
			}
		}
	}
	return false
}

// secretMount reports whether c mounts, read-only, a Secret volume that holds file.
func secretMount(pod corev1.PodSpec, c corev1.Container, file string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != path.Dir(file) || m.SubPath != "" || !m.ReadOnly {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			if len(v.Secret.Items) == 0 {
				return true // every key of the Secret is a file
			}
			for _, it := range v.Secret.Items {
				if it.Path == path.Base(file) {
					return true
				}
			}
		}
	}
	return false
}
