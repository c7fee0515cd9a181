package controller_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/controller"
	"github.com/tagflow/tagflow/internal/statuspage"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestStatusPage serves the status page from two replicas against the real kube-apiserver
// and registry: the leader's lists the objects and their state, with the commands in their
// cluster form; the other replica's says that it stands by; both want the token.
func TestStatusPage(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	reg := testbed.StartRegistry(t)
	ref := reg.Seed(t, "acme/web", []string{"1.0.0", "1.1.0"})
	const token = "controller-page-token"
	addrs := []string{fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))}
	for _, addr := range addrs {
		startController(t, selector, func(o *controller.Options) {
			o.LeaderElect = true
			o.LeaderElectionNamespace = ns
			o.LeaderElectionID = "tagflow-page-" + ns
			o.UIAddr, o.UIToken = addr, token
		})
	}
	create(t, repository(ns, label, ref.String(), ""), semverPolicy(ns, label, "", "1.x"))

	read := func(addr string) (statuspage.Overview, int) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/objects?namespace="+ns, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return statuspage.Overview{}, 0
		}
		defer resp.Body.Close()
		var ov statuspage.Overview
		_ = json.NewDecoder(resp.Body).Decode(&ov)
		return ov, resp.StatusCode
	}
	var leader, standby string
	eventually(t, 60*time.Second, "the leader's page shows the policy at 1.1.0 and the other replica stands by", func() (bool, string) {
		leader, standby = "", ""
		for _, addr := range addrs {
			ov, code := read(addr)
			if code != http.StatusOK {
				return false, fmt.Sprintf("GET %s: %d", addr, code)
			}
			if ov.Standby {
				standby = addr
				continue
			}
			for _, o := range ov.Objects {
				if o.Kind == "ImagePolicy" && strings.HasSuffix(o.Latest, ":1.1.0") {
					leader = addr
				}
			}
		}
		return leader != "" && standby != "", fmt.Sprintf("leader %q, standby %q", leader, standby)
	})

	ov, _ := read(leader)
	var cmds []string
	for _, o := range ov.Objects {
		cmds = append(cmds, o.Commands...)
	}
	if want := "tagflow reconcile policy web -n " + ns + " --kubeconfig ~/.kube/config"; !strings.Contains(strings.Join(cmds, "\n"), want) {
		t.Errorf("commands %q: want %q", cmds, want)
	}
	resp, err := http.Get("http://" + standby + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / without the token: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+standby+"/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "This replica is standing by") {
		t.Errorf("the standby replica's page does not say so:\n%s", page)
	}
}
