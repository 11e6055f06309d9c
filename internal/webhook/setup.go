package webhook

import (
	"context"
	"errors"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/greenlight-operator/greenlight/internal/policy"
)

// Options configure the admission webhooks.
type Options struct {
	Compiler *policy.Compiler
	// AdminGroups' members may delete anyone's SignOff.
	AdminGroups []string
	// Clock is the reconcilers' clock, so that a deadline passes for admission when it passes
	// for them.
	Clock clock.PassiveClock
	// ManagerUser is the manager's own user name: only it may write a SignOff's status.
	ManagerUser string
}

// SetupWithManager registers every admission webhook. They read the manager's cache, never a
// consistent LIST: whatever a cache that lags by milliseconds could get wrong, the reconciler
// re-checks when it counts (see cachedReads).
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	// The manager's cache has the SignOff index (controllers.SetupIndexes).
	reads := cachedReads{cache: mgr.GetClient(), api: mgr.GetAPIReader(), indexed: true}
	if err := NewSignOffWebhook(reads, opts).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := NewContentPostWebhook(mgr.GetClient(), admission.NewDecoder(mgr.GetScheme())).SetupWithManager(mgr); err != nil {
		return err
	}
	return NewApprovalPolicyWebhook(mgr.GetClient(), opts.Compiler).SetupWithManager(mgr)
}

// WhoAmI returns the user name the API server knows cfg's credentials as (a SelfSubjectReview):
// the manager's identity, the only one that may write a SignOff's status.
func WhoAmI(ctx context.Context, cfg *rest.Config) (string, error) {
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	review, err := clientset.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the API server who the manager is (SelfSubjectReview): %w", err)
	}
	if review.Status.UserInfo.Username == "" {
		return "", errors.New("the API server's SelfSubjectReview names no user for the manager")
	}
	return review.Status.UserInfo.Username, nil
}
