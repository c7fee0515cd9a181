package cloudauth

import (
	"context"
	"testing"
	"time"
)

// TestRenewalFailureKeepsTheLogin: a renewal that fails while the cached login still
// works does not fail the scan (it uses the cached login, and the failure is observed);
// once the login has expired, the failure is the scan's. A renewal is tried on each call
// after the renewal time, so the provider's recovery is noticed at once.
func TestRenewalFailureKeepsTheLogin(t *testing.T) {
	awsEnv(t, awsKeyID, awsSecret)
	clock := newFakeClock()
	c, ecr, reg := ecrSetup(t, clock)
	var fetches awsFetches
	src := &Source{Cache: c.cacheFor(clock, fetches.observe), Provider: AWS}
	ctx := context.Background()
	image := ecrRegistry + "/app"

	if _, err := c.scan(ctx, src, image); err != nil {
		t.Fatal(err)
	}
	// Past the renewal time (10 minutes before the 12-hour expiry), with a key ECR refuses.
	clock.Advance(11*time.Hour + 55*time.Minute)
	awsEnv(t, "AKIDREVOKED", awsSecret)
	if tags, err := c.scan(ctx, src, image); err != nil || len(tags) != 2 {
		t.Fatalf("scan while the renewal fails = %q, %v; want the cached login to work", tags, err)
	}
	if ok, failed := fetches.counts(); ok != 1 || failed != 1 {
		t.Errorf("fetches observed: %d ok, %d failed; want 1 and 1", ok, failed)
	}
	// Within the minute after a failed renewal the cloud is not asked again.
	if _, err := c.scan(ctx, src, image); err != nil {
		t.Fatal(err)
	}
	if ok, failed := fetches.counts(); ok != 1 || failed != 1 {
		t.Errorf("a scan right after the failed renewal asked again: %d ok, %d failed", ok, failed)
	}

	clock.Advance(10 * time.Minute) // past the expiry
	_, err := c.scan(ctx, src, image)
	mustContain(t, err, "aws", ecrRegistry, "UnrecognizedClientException")
	mustNotContain(t, err, awsSecret, "ecr-token-1")
	if n := ecr.Issued(); n != 1 {
		t.Errorf("ECR issued %d tokens; want 1", n)
	}

	awsEnv(t, awsKeyID, awsSecret)
	reg.Accept("AWS", "ecr-token-2")
	if _, err := c.scan(ctx, src, image); err != nil {
		t.Errorf("scan after the key came back: %v", err)
	}
	if n := ecr.Issued(); n != 2 {
		t.Errorf("after the key came back ECR issued %d tokens; want 2", n)
	}
}
