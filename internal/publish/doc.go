// Package publish turns an approved ContentPost into what publishes it and reads back how that
// went, without a client or a clock: the immutable ConfigMap that carries post.json for each
// channel (ConfigMap), the Job that publishes one channel from the platform team's template (Job),
// their deterministic names (JobName, ConfigMapName), the idempotency key a publisher hands to
// the remote side (IdempotencyKey), and a channel's state read from its Job and pods
// (ChannelState). The contract with the publisher's containers, post.json and the termination
// message, is in postfile.go.
package publish
