// Package webhook receives registry push events over HTTP and turns each into a request for
// an immediate scan of the image that changed, instead of waiting for the next poll.
//
// A Handler serves one URL path per Receiver: "/hook/" followed by the hex SHA-256 of the
// receiver's token, name and namespace (as Flux's notification-controller derives it), so
// the path is itself a secret. Where the sender can sign or carry a credential, the request
// must also carry it: GitHub's HMAC-SHA256 X-Hub-Signature-256, GitLab's X-Gitlab-Token,
// Harbor's and distribution's Authorization header, CloudEvents' Authorization header or
// HMAC signature. Docker Hub and Quay send neither, so their secret path alone
// authenticates them. Every credential carried in a header is checked before the body is
// read; bodies are size-limited; a rejected request gets 4xx, one log line (rate-limited per
// receiver), and triggers nothing.
//
// The package knows nothing about Kubernetes or tagflow's API types: receivers are plain
// values (Receiver) and acting on an event is the job of a Trigger the caller supplies —
// the standalone runtime asks the automation engine for a scan, the Kubernetes controller
// annotates the matching ImageRepository objects. Triggers for the same receiver and image
// are coalesced: while one runs, any number of further events for that image make one more
// call, not one each; Handler.Close cancels and waits for those background calls.
package webhook
