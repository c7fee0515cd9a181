// Package notify delivers notifications about what tagflow did (an update pushed, a pull
// request opened or merged, an object failing and recovering) to chat services and HTTP
// endpoints, each in the service's own format: Slack, Microsoft Teams, Discord, Google
// Chat, Rocket.Chat, Mattermost, and Flux's generic and generic-hmac JSON.
//
// A Sender formats and sends one Event to one service. A Dispatcher puts a queue in front
// of each Sender: delivery in order, retries with backoff (honouring 429 and
// Retry-After), a rate limit, identical events within a window sent once, and a bound on
// the events waiting while a service is down, so that a slow or dead service never blocks
// the caller and never grows memory without bound.
//
// The package is a library: it imports neither Kubernetes nor tagflow's API types. The
// callers map their objects and events onto Event.
package notify
