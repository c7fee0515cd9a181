package webhook

import "fmt"

// dockerHubPayload is Docker Hub's repository webhook body
// (https://docs.docker.com/docker-hub/repos/manage/webhooks/).
type dockerHubPayload struct {
	PushData struct {
		Tag string `json:"tag"`
	} `json:"push_data"`
	Repository struct {
		RepoName string `json:"repo_name"` // "namespace/name"
	} `json:"repository"`
}

func parseDockerHub(body []byte) ([]Push, error) {
	var p dockerHubPayload
	if err := decode("Docker Hub", body, &p); err != nil {
		return nil, err
	}
	if p.Repository.RepoName == "" {
		return nil, fmt.Errorf("%w: Docker Hub payload without repository.repo_name", ErrMalformed)
	}
	image, err := repository("docker.io/" + p.Repository.RepoName)
	if err != nil {
		return nil, err
	}
	return []Push{{Image: image, Tag: p.PushData.Tag}}, nil
}
