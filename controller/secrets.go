package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// secretCache holds the data of the Secrets the objects refer to, read from the API server
// on first use and again only when the Secret's resourceVersion (from a metadata-only
// watch) moves. The controller never caches every Secret of the cluster.
type secretCache struct {
	meta   client.Reader // the manager's cache, with Secret metadata
	reader client.Reader // the API server

	mu      sync.Mutex
	entries map[types.NamespacedName]secretEntry
}

type secretEntry struct {
	version string
	data    map[string][]byte
}

func newSecretCache(meta, reader client.Reader) *secretCache {
	return &secretCache{meta: meta, reader: reader, entries: map[types.NamespacedName]secretEntry{}}
}

// get returns the data of Secret namespace/name. A missing Secret is an error naming it.
func (s *secretCache) get(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	key := types.NamespacedName{Namespace: namespace, Name: name}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := s.meta.Get(ctx, key, m); err != nil {
		if apierrors.IsNotFound(err) {
			s.forget(key)
			return nil, fmt.Errorf("Secret %s not found", key)
		}
		return nil, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	s.mu.Lock()
	e, ok := s.entries[key]
	s.mu.Unlock()
	if ok && e.version == m.ResourceVersion {
		return e.data, nil
	}
	var sec corev1.Secret
	if err := s.reader.Get(ctx, key, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			s.forget(key)
			return nil, fmt.Errorf("Secret %s not found", key)
		}
		return nil, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	s.mu.Lock()
	s.entries[key] = secretEntry{version: sec.ResourceVersion, data: sec.Data}
	s.mu.Unlock()
	return sec.Data, nil
}

func (s *secretCache) forget(key types.NamespacedName) {
	s.mu.Lock()
	delete(s.entries, key)
	s.mu.Unlock()
}

// retain drops the entries of Secrets no object referred to in the last build.
func (s *secretCache) retain(used map[types.NamespacedName]bool) {
	s.mu.Lock()
	for k := range s.entries {
		if !used[k] {
			delete(s.entries, k)
		}
	}
	s.mu.Unlock()
}

// lookup returns a key lookup for the Secrets of namespace, in the shape the converter
// takes, recording each Secret it reads in used.
func (s *secretCache) lookup(ctx context.Context, namespace string, used map[types.NamespacedName]bool) func(name, key string) ([]byte, bool, error) {
	return func(name, key string) ([]byte, bool, error) {
		used[types.NamespacedName{Namespace: namespace, Name: name}] = true
		data, err := s.get(ctx, namespace, name)
		if err != nil {
			return nil, false, err
		}
		v, ok := data[key]
		return v, ok, nil
	}
}

// all returns a function reading every key of a Secret of namespace, recording in used
// that the object depends on it.
func (s *secretCache) all(ctx context.Context, namespace string, used map[types.NamespacedName]bool) func(name string) (map[string][]byte, error) {
	return func(name string) (map[string][]byte, error) {
		used[types.NamespacedName{Namespace: namespace, Name: name}] = true
		return s.get(ctx, namespace, name)
	}
}

// dockerConfig is the part of a Docker config file that holds credentials.
type dockerConfig struct {
	Auths map[string]json.RawMessage `json:"auths"`
}

// pullSecrets merges the registry credentials of a ServiceAccount's imagePullSecrets into
// one .dockerconfigjson, the first Secret naming a registry winning, as the kubelet does.
// Secrets of type kubernetes.io/dockercfg (the legacy format) count too.
func (s *secretCache) pullSecrets(ctx context.Context, reader client.Reader, namespace, account string, used map[types.NamespacedName]bool) ([]byte, error) {
	var sa corev1.ServiceAccount
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: account}, &sa); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("ServiceAccount %s/%s not found", namespace, account)
		}
		return nil, fmt.Errorf("reading ServiceAccount %s/%s: %w", namespace, account, err)
	}
	merged := dockerConfig{Auths: map[string]json.RawMessage{}}
	for _, ref := range sa.ImagePullSecrets {
		used[types.NamespacedName{Namespace: namespace, Name: ref.Name}] = true
		data, err := s.get(ctx, namespace, ref.Name)
		if err != nil {
			return nil, fmt.Errorf("imagePullSecrets of ServiceAccount %s/%s: %w", namespace, account, err)
		}
		var cfg dockerConfig
		if raw, ok := data[corev1.DockerConfigJsonKey]; ok {
			if err := json.Unmarshal(raw, &cfg); err != nil {
				return nil, fmt.Errorf("Secret %s/%s: %s is not a Docker config: %v", namespace, ref.Name, corev1.DockerConfigJsonKey, err)
			}
		} else if raw, ok := data[corev1.DockerConfigKey]; ok {
			if err := json.Unmarshal(raw, &cfg.Auths); err != nil {
				return nil, fmt.Errorf("Secret %s/%s: %s is not a Docker config: %v", namespace, ref.Name, corev1.DockerConfigKey, err)
			}
		} else {
			return nil, fmt.Errorf("Secret %s/%s has neither %s nor %s", namespace, ref.Name, corev1.DockerConfigJsonKey, corev1.DockerConfigKey)
		}
		for host, auth := range cfg.Auths {
			if _, ok := merged.Auths[host]; !ok {
				merged.Auths[host] = auth
			}
		}
	}
	if len(merged.Auths) == 0 {
		return nil, nil
	}
	return json.Marshal(merged)
}
