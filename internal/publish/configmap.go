package publish

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// configMapKey is the key of a channel's post.json in the content ConfigMap.
func configMapKey(channel string) string {
	return channel + ".json"
}

// ConfigMap returns the immutable ConfigMap that holds one post.json per channel of post, under
// the key "<channel>.json", for revision (the full "sha256:<hex>" digest of the approved
// content). It is immutable so that what a Job reads is what the reviewers approved, whatever
// happens to the post later. It is labelled greenlight.dev/post and greenlight.dev/revision and
// has no owner reference: the caller sets it.
//
// The error says which channel's file is incomplete (see PostFile.Validate); the controller must
// then publish nothing.
func ConfigMap(post *greenlightv1alpha1.ContentPost, revision string) (*corev1.ConfigMap, error) {
	data := make(map[string]string, len(post.Spec.Channels))
	for _, channel := range post.Spec.Channels {
		key := configMapKey(channel.Name)
		if _, seen := data[key]; seen {
			return nil, fmt.Errorf("ContentPost %s/%s lists channel %q twice in spec.channels; list each channel once",
				post.Namespace, post.Name, channel.Name)
		}
		file := postFileFor(post, revision, channel)
		if err := file.Validate(); err != nil {
			return nil, fmt.Errorf("ContentPost %s/%s, channel %q: %w", post.Namespace, post.Name, channel.Name, err)
		}
		encoded, err := json.Marshal(file)
		if err != nil {
			return nil, fmt.Errorf("ContentPost %s/%s, channel %q: encoding post.json: %w",
				post.Namespace, post.Name, channel.Name, err)
		}
		data[key] = string(encoded)
	}
	labels := map[string]string{
		greenlightv1alpha1.LabelPost:     post.Name,
		greenlightv1alpha1.LabelRevision: RevisionLabel(revision),
	}
	shardOf(post, labels)
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ConfigMapName(post.Name, revision),
			Namespace: post.Namespace,
			Labels:    labels,
		},
		Immutable: ptr.To(true),
		Data:      data,
	}, nil
}

// postFileFor is post.json for one channel of post.
func postFileFor(post *greenlightv1alpha1.ContentPost, revision string, channel greenlightv1alpha1.Channel) PostFile {
	body := post.Spec.Body
	if channel.Body != "" {
		body = channel.Body
	}
	media := make([]Medium, 0, len(post.Spec.Media))
	for _, m := range post.Spec.Media {
		media = append(media, Medium{URL: m.URL, SHA256: m.SHA256, AltText: m.AltText})
	}
	file := PostFile{
		Namespace:      post.Namespace,
		Name:           post.Name,
		UID:            string(post.UID),
		Revision:       revision,
		Channel:        channel.Name,
		Body:           body,
		Media:          media,
		Campaign:       post.Spec.Campaign,
		IdempotencyKey: IdempotencyKey(post.UID, revision, channel.Name),
	}
	if post.Spec.PublishAt != nil {
		file.PublishAt = post.Spec.PublishAt.UTC()
	}
	return file
}
