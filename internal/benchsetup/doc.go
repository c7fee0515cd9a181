// Package benchsetup builds the fixture of the standalone service's benchmark (issue 5): a
// real registry holding many repositories of many tags, a real Git server holding the
// synthetic GitOps tree of internal/gen, and the directory of ImageRepository, ImagePolicy
// and ImageUpdateAutomation objects that connects them.
package benchsetup
