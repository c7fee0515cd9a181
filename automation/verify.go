package automation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/trust"
)

// Verdicts are cached per image digest and trust spec: a verified image is not verified
// again while it stays cached (a digest names fixed content); a rejected one is asked
// about again after rejectionTTL, since a signature is often pushed moments after its tag.
const (
	rejectionTTL = 5 * time.Minute
	maxVerdicts  = 10000
	maxVerifiers = 256
)

// verdicts caches the outcome of signature verifications and the verifiers built for
// each trust spec. It is safe for concurrent use.
type verdicts struct {
	mu        sync.Mutex
	verifiers map[string]trust.Verifier // by trust.Spec.Key
	cache     map[verdictKey]verdict
	hits      int // lookups answered from the cache, for the benchmark and tests
	misses    int
}

type verdictKey struct {
	spec   string // trust.Spec.Key
	image  string // canonical repository name
	digest string
}

type verdict struct {
	reason string // empty: trusted
	at     time.Time
}

// verifier returns the Verifier of spec, built once per spec.
func (v *verdicts) verifier(spec *trust.Spec, key string) (trust.Verifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if ver, ok := v.verifiers[key]; ok {
		return ver, nil
	}
	ver, err := trust.New(*spec)
	if err != nil {
		return nil, err
	}
	if v.verifiers == nil || len(v.verifiers) >= maxVerifiers {
		v.verifiers = map[string]trust.Verifier{} // specs that changed leave theirs behind
	}
	v.verifiers[key] = ver
	return ver, nil
}

// lookup returns the cached verdict of k at now, if it still holds.
func (v *verdicts) lookup(k verdictKey, now time.Time) (verdict, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	d, ok := v.cache[k]
	if ok && d.reason != "" && now.Sub(d.at) >= rejectionTTL {
		ok = false
	}
	if ok {
		v.hits++
	} else {
		v.misses++
	}
	return d, ok
}

// store caches d under k. Past maxVerdicts the cache starts afresh: verifying again is
// correct, only slower.
func (v *verdicts) store(k verdictKey, d verdict) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil || len(v.cache) >= maxVerdicts {
		v.cache = map[verdictKey]verdict{}
	}
	v.cache[k] = d
}

// VerificationStats returns how many signature verifications the engine answered from its
// cache (hits) and by asking the registry (misses), since it started.
func (e *Engine) VerificationStats() (hits, misses int) {
	e.trust.mu.Lock()
	defer e.trust.mu.Unlock()
	return e.trust.hits, e.trust.misses
}

// acceptSigned returns the policy.Inputs.Accept of a policy whose spec.verify is spec: a
// tag is accepted when the image it points to now (its digest, read from the registry) has
// a signature spec trusts. The digests of accepted tags are recorded in digests, so that a
// reflected digest is the one verified.
func (e *Engine) acceptSigned(ctx context.Context, spec *trust.Spec, repo scanner.Repository, digests map[string]string) func(tag string) (string, error) {
	key := spec.Key()
	return func(tag string) (string, error) {
		ver, err := e.trust.verifier(spec, key)
		if err != nil {
			return "", fmt.Errorf("spec.verify: %w", err)
		}
		digest, err := e.scan.Digest(ctx, repo, tag)
		if err != nil {
			return "", err
		}
		image, err := scanner.CanonicalName(repo.Image)
		if err != nil {
			return "", err
		}
		k := verdictKey{spec: key, image: image, digest: digest}
		now := e.now()
		d, ok := e.trust.lookup(k, now)
		if !ok {
			ref, opts, err := e.scan.RemoteOptions(ctx, repo)
			if err != nil {
				return "", err
			}
			err = ver.Verify(ctx, trust.Target{Repository: ref, Digest: digest, Options: opts})
			var rej *trust.Rejection
			switch {
			case errors.As(err, &rej):
				d = verdict{reason: rej.Reason, at: now}
			case err != nil:
				return "", fmt.Errorf("verifying the signature of %s@%s: %w", repo.Image, digest, err)
			default:
				d = verdict{at: now}
			}
			e.trust.store(k, d)
			if d.reason != "" {
				e.log.Info("tag rejected: its signature is not trusted", "image", repo.Image, "tag", tag, "digest", digest, "reason", d.reason)
			}
		}
		if d.reason == "" {
			digests[tag] = digest
		}
		return d.reason, nil
	}
}
