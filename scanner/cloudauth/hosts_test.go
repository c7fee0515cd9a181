package cloudauth

import (
	"context"
	"errors"
	"testing"
)

func TestCheckHost(t *testing.T) {
	for _, tc := range []struct {
		p    Provider
		host string
		ok   bool
	}{
		{AWS, "123456789012.dkr.ecr.us-east-1.amazonaws.com", true},
		{AWS, "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", true},
		{AWS, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", true},
		{AWS, "123456789012.dkr-ecr.eu-west-1.on.aws", true},
		{AWS, "public.ecr.aws", true},
		{AWS, "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", false},
		{AWS, "123456789012.dkr.ecr.us-east-1.amazonaws.com:443", false},
		{AWS, "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com", false},
		{AWS, "12345.dkr.ecr.us-east-1.amazonaws.com", false},
		{AWS, "europe-docker.pkg.dev", false},
		{GCP, "europe-west1-docker.pkg.dev", true},
		{GCP, "gcr.io", true},
		{GCP, "eu.gcr.io", true},
		{GCP, "docker.pkg.dev.evil.example", false},
		{GCP, "evilgcr.io", false},
		{GCP, "ghcr.io", false},
		{Azure, "myregistry.azurecr.io", true},
		{Azure, "myregistry-abc123.azurecr.io", true},
		{Azure, "myregistry.azurecr.cn", true},
		{Azure, "myregistry.azurecr.io.evil.example", false},
		{Azure, "azurecr.io", false},
		{Azure, "my.registry.azurecr.io", false},
	} {
		err := CheckHost(tc.p, tc.host)
		if (err == nil) != tc.ok {
			t.Errorf("CheckHost(%s, %q) = %v; want ok=%v", tc.p, tc.host, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrHostMismatch) {
			t.Errorf("CheckHost(%s, %q) = %v; want ErrHostMismatch", tc.p, tc.host, err)
		}
	}
	if err := CheckHost("digitalocean", "x"); !errors.Is(err, ErrUnknownProvider) {
		t.Errorf("CheckHost(digitalocean) = %v; want ErrUnknownProvider", err)
	}
}

// TestNoTokenOutsideTheProvider: a registry outside the provider's hosts gets nothing,
// and the provider's token service is never asked.
func TestNoTokenOutsideTheProvider(t *testing.T) {
	c := newCloud(t)
	reg := newRegistryHandler("AWS", "token")
	c.Handle("registry.evil.example", reg)
	cache := c.cacheFor(newFakeClock(), nil)
	for _, p := range Providers {
		_, err := c.scan(context.Background(), &Source{Cache: cache, Provider: p}, "registry.evil.example/app")
		if !errors.Is(err, ErrHostMismatch) {
			t.Errorf("%s: scan of registry.evil.example = %v; want ErrHostMismatch", p, err)
		}
		mustContain(t, err, "registry.evil.example", string(p))
	}
	if n := c.Asked("registry.evil.example"); n != 0 {
		t.Errorf("registry.evil.example got %d requests; want none", n)
	}
}
