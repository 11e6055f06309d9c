package main

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// A reviewer approves without ever seeing a SignOff manifest, and reads in one line that it
// counted and what the post waits on next, stage by stage, until nothing is left to approve.
func TestApprovalsCountAndSayWhatThePostWaitsOnNow(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	submit(t, ns, "launch")

	alice := kubectl("alice", ns, "approve", "launch", "--department", "marketing", "-m", "On brand.")
	g.Expect(alice.errOut).To(BeEmpty())
	g.Expect(alice.code).To(Equal(0))
	g.Expect(alice.out).To(MatchRegexp(`^Approved launch for marketing \(SignOff launch-marketing-[a-z0-9]{5}\): it counts; ` +
		`launch is InReview, stage brand, waiting on public-relations \(due in 4[78]h\)\.\n$`))

	// The SignOff is alice's, stamped by admission, with her comment.
	signOffs := &greenlightv1alpha1.SignOffList{}
	g.Expect(k.List(context.Background(), signOffs, client.InNamespace(ns))).To(Succeed())
	g.Expect(signOffs.Items).To(HaveLen(1))
	g.Expect(signOffs.Items[0].Spec).To(And(
		HaveField("Reviewer", "alice"), HaveField("Decision", greenlightv1alpha1.DecisionApprove),
		HaveField("Comment", "On brand."), HaveField("Revision", HavePrefix("sha256:"))))

	// bob is in one department only: it is found for him.
	bob := kubectl("bob", ns, "approve", "launch")
	g.Expect(bob.code).To(Equal(0), bob.errOut)
	g.Expect(bob.out).To(MatchRegexp(`^Approved launch for public-relations \(SignOff launch-public-relations-[a-z0-9]{5}\): it counts; ` +
		`launch is InReview, stage compliance, waiting on legal\.\n$`))

	carol := kubectl("carol", ns, "approve", "launch")
	g.Expect(carol.code).To(Equal(0), carol.errOut)
	g.Expect(carol.out).To(MatchRegexp(`^Approved launch for legal \(SignOff launch-legal-[a-z0-9]{5}\): it counts; ` +
		`launch is Scheduled: every department approved\.\n$`))
}

// Admission's refusal is shown as its one sentence, without the API server's wrapping, and the
// command fails.
func TestDenialsAreOneSentenceAndExitOne(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	submit(t, ns, "launch")

	author := kubectl("dana", ns, "approve", "launch", "--department", "marketing")
	g.Expect(author.code).To(Equal(1))
	g.Expect(author.out).To(BeEmpty())
	g.Expect(author.errOut).To(Equal("dana cannot approve ContentPost launch because they are its author (spec.author); policy acme " +
		"does not allow self-approval (spec.allowSelfApproval), so someone else in department marketing must approve it\n"))

	stranger := kubectl("mallory", ns, "approve", "launch", "--department", "marketing")
	g.Expect(stranger.code).To(Equal(1))
	g.Expect(stranger.errOut).To(Equal("mallory is not an approver of department marketing (policy acme allows groups marketing)\n"))

	early := kubectl("carol", ns, "reject", "launch", "--department", "legal", "-m", "No.")
	g.Expect(early.code).To(Equal(1))
	g.Expect(early.errOut).To(Equal("department legal reviews in stage compliance, which has not started: " +
		"stage brand (waiting on marketing) must be approved first\n"))

	// The API's own validation, shown by field.
	invalid := kubectl("alice", ns, "approve", "launch", "--department", "Marketing")
	g.Expect(invalid.code).To(Equal(1))
	g.Expect(invalid.errOut).To(HavePrefix(`spec.department: Invalid value: "Marketing": must be a DNS label`))
	g.Expect(strings.Count(invalid.errOut, "\n")).To(Equal(1))

	// A decision that needs a comment is refused before anything is sent.
	bare := kubectl("alice", ns, "request-changes", "launch", "--department", "marketing")
	g.Expect(bare.code).To(Equal(1))
	g.Expect(bare.errOut).To(Equal("error: request-changes needs -m TEXT: say what must change or why the post is rejected\n"))

	missing := kubectl("alice", ns, "approve", "nope", "--department", "marketing")
	g.Expect(missing.code).To(Equal(1))
	g.Expect(missing.errOut).To(Equal("error: there is no ContentPost nope in namespace " + ns + ": check the name with " +
		"`kubectl get posts -n " + ns + "`, or pick the namespace with -n\n"))

	for _, r := range []result{author, stranger, early, invalid} {
		g.Expect(r.errOut).NotTo(ContainSubstring("admission webhook"))
		g.Expect(r.errOut).NotTo(ContainSubstring("denied"))
	}
	signOffs := &greenlightv1alpha1.SignOffList{}
	g.Expect(k.List(context.Background(), signOffs, client.InNamespace(ns))).To(Succeed())
	g.Expect(signOffs.Items).To(BeEmpty())
}

// Without --department the plugin picks the one pending department the user may decide for,
// and refuses, naming the candidates, when there are several or none.
func TestTheDepartmentIsInferredOnlyWhenThereIsExactlyOne(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	submit(t, ns, "launch")

	erin := kubectl("erin", ns, "approve", "launch")
	g.Expect(erin.code).To(Equal(1))
	g.Expect(erin.errOut).To(Equal("error: you (erin) may decide for more than one department of ContentPost launch " +
		"(marketing, public-relations): name one with --department\n"))

	mallory := kubectl("mallory", ns, "approve", "launch")
	g.Expect(mallory.code).To(Equal(1))
	g.Expect(mallory.errOut).To(Equal("error: you (mallory) may decide for none of the departments ContentPost launch waits on: " +
		"marketing (not an approver (groups marketing)); public-relations (not an approver (groups public-relations)); " +
		"name a department with --department if you are sure\n"))

	// dana, the author, may not approve, but may ask for changes in her own department.
	dana := kubectl("dana", ns, "approve", "launch")
	g.Expect(dana.code).To(Equal(1))
	g.Expect(dana.errOut).To(ContainSubstring("marketing (dana cannot approve ContentPost launch because they are its author"))
	danaChanges := kubectl("dana", ns, "request-changes", "launch", "-m", "Typo in the second line.")
	g.Expect(danaChanges.code).To(Equal(0), danaChanges.errOut)
	g.Expect(danaChanges.out).To(MatchRegexp(`^Requested changes to launch for marketing \(SignOff launch-marketing-[a-z0-9]{5}\): ` +
		`it counts; launch is ChangesRequested`))

	// Once marketing has decided, erin has one department left.
	erinAgain := kubectl("erin", ns, "reject", "launch", "-m", "Wrong tone.")
	g.Expect(erinAgain.code).To(Equal(0), erinAgain.errOut)
	g.Expect(erinAgain.out).To(HavePrefix("Rejected launch for public-relations"))

	// Nothing is pending any more.
	none := kubectl("alice", ns, "approve", "launch")
	g.Expect(none.code).To(Equal(1))
	g.Expect(none.errOut).To(Equal("error: ContentPost launch waits on no department now (phase Rejected): there is nothing to decide; " +
		"see `kubectl greenlight status launch`\n"))
}

// Withdrawing deletes the user's own sign-off for the department, never anyone else's.
func TestWithdrawDeletesOnlyYourOwnSignOff(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	submit(t, ns, "launch")

	g.Expect(kubectl("alice", ns, "approve", "launch", "--department", "marketing").code).To(Equal(0))
	g.Expect(kubectl("erin", ns, "approve", "launch", "--department", "marketing").code).To(Equal(0))
	g.Expect(kubectl("bob", ns, "request-changes", "launch", "-m", "Add the price.").code).To(Equal(0))

	withdrawn := kubectl("alice", ns, "withdraw", "launch", "--department", "marketing")
	g.Expect(withdrawn.code).To(Equal(0), withdrawn.errOut)
	g.Expect(withdrawn.out).To(MatchRegexp(`^Withdrew SignOff launch-marketing-[a-z0-9]{5} \(alice approved for marketing\)\.\n$`))

	g.Eventually(func(g Gomega) {
		signOffs := &greenlightv1alpha1.SignOffList{}
		g.Expect(k.List(ctx, signOffs, client.InNamespace(ns))).To(Succeed())
		var left []string
		for _, s := range signOffs.Items {
			left = append(left, s.Spec.Reviewer+"/"+s.Spec.Department)
		}
		g.Expect(left).To(ConsistOf("erin/marketing", "bob/public-relations"))
	}).Should(Succeed())

	again := kubectl("alice", ns, "withdraw", "launch", "--department", "marketing")
	g.Expect(again.code).To(Equal(1))
	g.Expect(again.errOut).To(Equal("error: you (alice) have no SignOff for department marketing of ContentPost launch to withdraw: " +
		"see `kubectl greenlight history launch`\n"))

	// bob takes his request back and may decide again.
	g.Expect(kubectl("bob", ns, "withdraw", "launch", "--department", "public-relations").code).To(Equal(0))
	waitForDepartment(t, ns, "launch", "public-relations", greenlightv1alpha1.DepartmentPending)
}
