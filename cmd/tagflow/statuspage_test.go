package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tagflow/tagflow/internal/statuspage"
	"github.com/tagflow/tagflow/internal/testbed"
)

// brokenRepository is an ImageRepository of the e2e registry whose credential is wrong.
const brokenRepository = `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: broken
  namespace: flux-system
spec:
  image: %s
  interval: 5m
  secretRef:
    name: badcred
`

// TestIntegrationStatusPageInBrowser drives the status page of a real `tagflow run` (the
// built binary, with the real registry and Git server) in headless Chromium: the overview
// lists the objects with the broken registry credential at the top and its cause; a new
// tag pushed to the registry changes the policy's row and grows its timeline without a
// reload; no password reaches the page. Screenshots go to $TAGFLOW_ARTIFACTS.
func TestIntegrationStatusPageInBrowser(t *testing.T) {
	browser := testbed.Browser(t)
	e := newE2E(t)
	const wrongPassword = "Wrong-Password-5150"
	auth := base64.StdEncoding.EncodeToString([]byte(e2eRegUser + ":" + wrongPassword))
	writeSecretFile(t, e.secrets, "badcred", ".dockerconfigjson", `{"auths":{"`+e.reg.Host+`":{"auth":"`+auth+`"}}}`)
	if err := os.WriteFile(filepath.Join(e.objects, "broken.yaml"), []byte(fmt.Sprintf(brokenRepository, e.image)), 0o644); err != nil {
		t.Fatal(err)
	}
	const token = "page-token-6a1f0c"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startRunProcess(t, e, "--ui-addr", "127.0.0.1:0", "--ui-token-file", tokenFile)
	base := "http://" + waitForLog(t, p, regexp.MustCompile(`serving the status page.* addr=(\S+)`))

	// The first pass: web's policy at 1.1.0 and pushed, broken failing.
	waitForObjects(t, base, token, func(ov statuspage.Overview) bool {
		return find(ov, "ImagePolicy", "web").Latest == e.image+":1.1.0" &&
			find(ov, "ImageUpdateAutomation", "fleet").LastPush != nil && find(ov, "ImageRepository", "broken").Failing
	})

	shots := testbed.Artifacts(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", filepath.Join(shots, name))
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(browser, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	// poll waits until the expression is true in the page.
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(browser, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond),
			chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, eval("document.body.innerText"))
		}
	}

	// Opened once with ?token=, the page sets its cookie and drops the token from the address.
	if err := chromedp.Do(browser, chromedp.Navigate(base+"/?token="+token)); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(browser, chromedp.Location()); loc != base+"/" {
		t.Errorf("address after ?token=: %s, want %s/", loc, base)
	}
	poll("the page to go live", `document.getElementById("live").textContent === "live"`)
	if first := eval(`document.querySelector("main section").id`); first != "failing" {
		t.Errorf("the first section is %q, want the failing objects", first)
	}
	cause := eval(`document.querySelector('#failing tr[data-object="repository/flux-system/broken"] td.cause').textContent`)
	if !strings.Contains(cause, e.image) || !strings.Contains(strings.ToLower(cause), "unauthorized") {
		t.Errorf("the cause shown for broken: %q, want its image and that the registry refused the credential", cause)
	}
	if got := eval(`document.querySelector('tr[data-object="policy/flux-system/web"] td.latest').textContent`); got != "1.1.0" {
		t.Errorf("the policy's row shows %q, want 1.1.0", got)
	}
	shot("status-page-overview.png")

	// A new tag: the row changes without a reload (a value set on window survives).
	eval(`window.__sameDocument = "yes"`)
	e.reg.Seed(t, "shop/web", []string{"1.2.0"})
	reconcile(t, e, "repository", "web")
	poll("the policy's row to show 1.2.0", `document.querySelector('tr[data-object="policy/flux-system/web"] td.latest').textContent === "1.2.0"`)
	if eval(`window.__sameDocument || "reloaded"`) != "yes" {
		t.Error("the page was reloaded to show the change")
	}

	// The policy's timeline grows without a reload.
	if err := chromedp.Do(browser, chromedp.Navigate(base+"/object/policy/flux-system/web")); err != nil {
		t.Fatal(err)
	}
	poll("the policy's page to go live", `document.getElementById("live").textContent === "live"`)
	before := eval(`String(document.querySelectorAll("#timeline li").length)`)
	eval(`window.__sameDocument = "yes"`)
	e.reg.Seed(t, "shop/web", []string{"1.3.0"})
	reconcile(t, e, "repository", "web")
	poll("the timeline to grow with 1.3.0", `document.querySelectorAll("#timeline li").length > `+before+
		` && document.querySelector("#timeline li").textContent.includes("1.3.0")`)
	if eval(`window.__sameDocument || "reloaded"`) != "yes" {
		t.Error("the page was reloaded to show the timeline")
	}
	poll("the adoption of 1.3.0 in the timeline", `[...document.querySelectorAll('#timeline li[data-type="Adopted"]')].some(li => li.textContent.includes("1.3.0"))`)
	shot("status-page-policy.png")

	html := eval(`document.documentElement.outerHTML`)
	for _, secret := range []string{e2eRegPassword, e2eGitPassword, wrongPassword, token} {
		if strings.Contains(html, secret) {
			t.Errorf("the page shows a secret (%.4s…)", secret)
		}
	}
	if err := chromedp.Do(browser, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	html = eval(`document.documentElement.outerHTML`)
	for _, secret := range []string{e2eRegPassword, e2eGitPassword, wrongPassword, token} {
		if strings.Contains(html, secret) {
			t.Errorf("the overview shows a secret (%.4s…)", secret)
		}
	}
}

// reconcile asks the running service to scan a repository now, and waits for it.
func reconcile(t *testing.T, e *e2e, kind, name string) {
	t.Helper()
	if code, out, errOut := run(t, "", "reconcile", kind, name, "-n", "flux-system", "--data-dir", e.dataDir); code != exitOK {
		t.Fatalf("reconcile %s %s: exit %d\n%s%s", kind, name, code, out, errOut)
	}
}

// waitForLog waits until the process logs a line matching re, and returns its first group.
func waitForLog(t *testing.T, p *runProcess, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m[1]
		}
		select {
		case <-p.exited:
			t.Fatalf("tagflow run exited: %v\n%s", p.err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("tagflow run did not log %s:\n%s", re, p.stderr.String())
	return ""
}

// waitForObjects polls the JSON API until cond holds.
func waitForObjects(t *testing.T, base, token string, cond func(statuspage.Overview) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/objects", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			var ov statuspage.Overview
			err = json.NewDecoder(resp.Body).Decode(&ov)
			resp.Body.Close()
			if err == nil && cond(ov) {
				return
			}
			b, _ := json.Marshal(ov)
			last = string(b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the objects never reached the expected state; last:\n%s", last)
}

func find(ov statuspage.Overview, kind, name string) statuspage.Object {
	for _, o := range ov.Objects {
		if o.Kind == kind && o.Name == name {
			return o
		}
	}
	return statuspage.Object{}
}
