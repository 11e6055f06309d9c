package docs_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/controllers"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/review"
	"github.com/greenlight-operator/greenlight/internal/testenv"
)

// documentedReasons mirrors every exported Reason constant of the packages that write
// conditions, by package-qualified name. TestEveryReasonConstantIsListed fails when a constant is
// added to the code and not here; TestTroubleshootingNamesEveryReason fails when one of these is
// missing from troubleshooting.md.
var documentedReasons = map[string]string{
	"controllers.ReasonPolicyValid":        controllers.ReasonPolicyValid,
	"controllers.ReasonDeliveryFailed":     controllers.ReasonDeliveryFailed,
	"controllers.ReasonPublishing":         controllers.ReasonPublishing,
	"controllers.ReasonFailed":             controllers.ReasonFailed,
	"controllers.ReasonDrifted":            controllers.ReasonDrifted,
	"controllers.ReasonDraft":              controllers.ReasonDraft,
	"controllers.ReasonInReview":           controllers.ReasonInReview,
	"controllers.ReasonChangesRequested":   controllers.ReasonChangesRequested,
	"controllers.ReasonRejected":           controllers.ReasonRejected,
	"controllers.ReasonApproved":           controllers.ReasonApproved,
	"controllers.ReasonScheduled":          controllers.ReasonScheduled,
	"controllers.ReasonAwaitingReview":     controllers.ReasonAwaitingReview,
	"controllers.ReasonPublished":          controllers.ReasonPublished,
	"controllers.ReasonDeadlineMissed":     controllers.ReasonDeadlineMissed,
	"controllers.ReasonMissedPublishSlot":  controllers.ReasonMissedPublishSlot,
	"controllers.ReasonNoPublishingWindow": controllers.ReasonNoPublishingWindow,
	"controllers.ReasonFrozen":             controllers.ReasonFrozen,
	"policy.ReasonNoMatchingPolicy":        policy.ReasonNoMatchingPolicy,
	"policy.ReasonInvalidPolicy":           policy.ReasonInvalidPolicy,
	"policy.ReasonPolicyConflict":          policy.ReasonPolicyConflict,
	"policy.ReasonNoPublisher":             policy.ReasonNoPublisher,
	"review.ReasonCounted":                 review.ReasonCounted,
	"review.ReasonWithdrawn":               review.ReasonWithdrawn,
	"review.ReasonNoReviewer":              review.ReasonNoReviewer,
	"review.ReasonOtherPost":               review.ReasonOtherPost,
	"review.ReasonOtherPolicy":             review.ReasonOtherPolicy,
	"review.ReasonNotAnApprover":           review.ReasonNotAnApprover,
	"review.ReasonStaleRevision":           review.ReasonStaleRevision,
	"review.ReasonSelfApproval":            review.ReasonSelfApproval,
	"review.ReasonDeadlineMissed":          review.ReasonDeadlineMissed,
	"review.ReasonDuplicateReviewer":       review.ReasonDuplicateReviewer,
	"review.ReasonStageNotStarted":         review.ReasonStageNotStarted,
	"review.ReasonUnknownDepartment":       review.ReasonUnknownDepartment,
	"review.ReasonDepartmentNotRequired":   review.ReasonDepartmentNotRequired,
	"review.ReasonPostIsDraft":             review.ReasonPostIsDraft,
	"review.ReasonPostNotFound":            review.ReasonPostNotFound,
	"review.ReasonPostBlocked":             review.ReasonPostBlocked,
	"review.ReasonPostPublished":           review.ReasonPostPublished,
}

// reasonPackages are the directories whose Reason constants reach a condition a person reads.
var reasonPackages = map[string]string{
	"controllers": "controllers", "policy": "internal/policy", "review": "internal/review", "publish": "internal/publish",
}

var reasonConstant = regexp.MustCompile(`(?m)^\s*(Reason[A-Z]\w*)\s*=`)

// TestEveryReasonConstantIsListed greps the packages' sources for Reason constants, so that a new
// reason cannot reach users without a troubleshooting entry.
func TestEveryReasonConstantIsListed(t *testing.T) {
	g := NewWithT(t)
	var found []string
	for pkg, dir := range reasonPackages {
		files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), dir, "*.go"))
		g.Expect(err).NotTo(HaveOccurred())
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			data, err := os.ReadFile(file)
			g.Expect(err).NotTo(HaveOccurred())
			for _, m := range reasonConstant.FindAllStringSubmatch(string(data), -1) {
				found = append(found, pkg+"."+m[1])
			}
		}
	}
	sort.Strings(found)
	listed := make([]string, 0, len(documentedReasons))
	for name := range documentedReasons {
		listed = append(listed, name)
	}
	sort.Strings(listed)
	g.Expect(found).To(Equal(listed), "a Reason constant was added or removed: document it in docs/troubleshooting.md "+
		"and update documentedReasons")
}

func TestTroubleshootingNamesEveryReason(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile("troubleshooting.md")
	g.Expect(err).NotTo(HaveOccurred())
	page := string(data)
	for name, reason := range documentedReasons {
		g.Expect(page).To(ContainSubstring("`"+reason+"`"), "troubleshooting.md does not explain %s (%s)", reason, name)
	}
	for _, condition := range []string{greenlightv1alpha1.ConditionNotificationsFailing, greenlightv1alpha1.ConditionFrozen,
		greenlightv1alpha1.ConditionDrifted, greenlightv1alpha1.ConditionDeadlineExceeded} {
		g.Expect(page).To(ContainSubstring(condition), "troubleshooting.md does not explain condition %s", condition)
	}
	for _, phase := range []greenlightv1alpha1.PostPhase{greenlightv1alpha1.PostBlocked, greenlightv1alpha1.PostExpired,
		greenlightv1alpha1.PostFailed} {
		g.Expect(page).To(ContainSubstring("## "+string(phase)), "troubleshooting.md has no section for %s", phase)
	}
}

// TestConceptsNamesEveryPhase checks that the phase table covers all ten phases.
func TestConceptsNamesEveryPhase(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile("concepts.md")
	g.Expect(err).NotTo(HaveOccurred())
	for _, phase := range []greenlightv1alpha1.PostPhase{greenlightv1alpha1.PostDraft, greenlightv1alpha1.PostInReview,
		greenlightv1alpha1.PostChangesRequested, greenlightv1alpha1.PostRejected, greenlightv1alpha1.PostExpired,
		greenlightv1alpha1.PostScheduled, greenlightv1alpha1.PostPublishing, greenlightv1alpha1.PostPublished,
		greenlightv1alpha1.PostFailed, greenlightv1alpha1.PostBlocked} {
		g.Expect(string(data)).To(ContainSubstring("| `"+string(phase)+"` |"), "concepts.md's phase table lacks %s", phase)
	}
}

var markdownLink = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)\s]*)?\)`)

// TestLinksPointAtFiles checks that every relative link of the guide names a file or directory
// that exists (anchors are not checked).
func TestLinksPointAtFiles(t *testing.T) {
	g := NewWithT(t)
	pages, err := filepath.Glob("*.md")
	g.Expect(err).NotTo(HaveOccurred())
	more, err := filepath.Glob("recipes/*.md")
	g.Expect(err).NotTo(HaveOccurred())
	for _, page := range append(pages, more...) {
		data, err := os.ReadFile(page)
		g.Expect(err).NotTo(HaveOccurred())
		for _, m := range markdownLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			_, err := os.Stat(filepath.Join(filepath.Dir(page), target))
			g.Expect(err).NotTo(HaveOccurred(), "%s links to %s", page, target)
		}
	}
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestMarkdownManifestsAreValid checks the Greenlight manifests shown inline in the pages: each
// decodes strictly into its type, and posts and policies pass a server-side dry run (schema,
// webhooks and admission policies).
func TestMarkdownManifestsAreValid(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "docs-inline-"}}
	g.Expect(admin.Create(ctx, ns)).To(Succeed())
	pages, err := filepath.Glob("*.md")
	g.Expect(err).NotTo(HaveOccurred())
	more, err := filepath.Glob("recipes/*.md")
	g.Expect(err).NotTo(HaveOccurred())
	checked := 0
	for _, page := range append(pages, more...) {
		data, err := os.ReadFile(page)
		g.Expect(err).NotTo(HaveOccurred())
		for _, m := range yamlBlock.FindAllStringSubmatch(string(data), -1) {
			if !strings.Contains(m[1], "apiVersion: greenlight.dev/") {
				continue
			}
			var typed client.Object
			switch {
			case strings.Contains(m[1], "kind: ContentPost"):
				typed = &greenlightv1alpha1.ContentPost{}
			case strings.Contains(m[1], "kind: ApprovalPolicy"):
				typed = &greenlightv1alpha1.ApprovalPolicy{}
			case strings.Contains(m[1], "kind: SignOff"):
				typed = &greenlightv1alpha1.SignOff{}
			default:
				t.Errorf("%s shows a Greenlight manifest of an unknown kind:\n%s", page, m[1])
				continue
			}
			g.Expect(yaml.UnmarshalStrict([]byte(m[1]), typed)).To(Succeed(), "%s:\n%s", page, m[1])
			checked++
			if _, isSignOff := typed.(*greenlightv1alpha1.SignOff); isSignOff {
				continue // a SignOff needs its post and a reviewer: the recipes apply real ones
			}
			typed.SetNamespace(ns.Name)
			g.Expect(admin.Create(ctx, typed, client.DryRunAll, client.FieldValidation("Strict"))).To(Succeed(), "%s:\n%s", page, m[1])
		}
	}
	g.Expect(checked).To(BeNumerically(">", 0))
}
