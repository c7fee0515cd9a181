package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tagflow/tagflow/webhook"
)

// A Handler with one GitLab receiver: the sender posts to the receiver's secret path with
// its token, and the Trigger is asked to scan the pushed image.
func Example() {
	h, err := webhook.New(webhook.Options{
		Trigger: webhook.TriggerFunc(func(ctx context.Context, ev webhook.Event) error {
			fmt.Printf("scan %s (tag %s) for receiver %s\n", ev.Image, ev.Tag, ev.Receiver)
			return nil
		}),
	})
	if err != nil {
		panic(err)
	}
	defer h.Close() // when the server stops: ends the triggers coalescing runs in the background
	r := webhook.Receiver{ID: webhook.ID{Namespace: "apps", Name: "gitlab"}, Type: webhook.GitLab, Token: "s3cret"}
	if err := h.SetReceivers([]webhook.Receiver{r}); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle(webhook.PathPrefix, h)

	req := httptest.NewRequest(http.MethodPost, r.Path(), strings.NewReader(`{"image": "registry.gitlab.com/acme/web:1.2.0"}`))
	req.Header.Set("X-Gitlab-Token", "s3cret")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// scan registry.gitlab.com/acme/web (tag 1.2.0) for receiver apps/gitlab
	// 202
}
