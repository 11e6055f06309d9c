package admissionfuzz

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
	"github.com/greenlight-operator/greenlight/internal/policy"
	"github.com/greenlight-operator/greenlight/internal/webhook"
)

// FuzzAdmissionDecode sends arbitrary objects to every admission webhook, as create, update and
// delete requests. Nothing may panic, and no validating webhook admits a create or update whose
// object the webhooks' decoder cannot decode. (A mutating webhook's "allowed" is only a patch;
// validation still follows.)
func FuzzAdmissionDecode(f *testing.F) {
	post, _ := json.Marshal(samplePost("fuzz", "launch"))
	signOff, _ := json.Marshal(approval("fuzz", "launch", "marketing"))
	pol, _ := json.Marshal(samplePolicy("fuzz"))
	for _, seed := range [][]byte{post, signOff, pol, []byte(`{}`), []byte(`null`), []byte(`{"spec":{"post":7}}`),
		[]byte(`{"metadata":{"annotations":{"greenlight.dev/editors":"[\"a\""}},"spec":{"body":"x"}}`), []byte("\xff")} {
		f.Add(seed, seed, uint8(0), uint8(0))
	}
	compiler, err := policy.NewCompiler()
	if err != nil {
		f.Fatal(err)
	}
	s := runtime.NewScheme()
	if err := greenlightv1alpha1.AddToScheme(s); err != nil {
		f.Fatal(err)
	}
	reader := fake.NewClientBuilder().WithScheme(s).WithObjects(samplePost("fuzz", "launch"), samplePolicy("fuzz")).Build()
	signOffs := webhook.NewUncachedSignOffWebhook(reader, webhook.Options{Compiler: compiler,
		AdminGroups: []string{webhook.DefaultAdminGroup}, Clock: clocktesting.NewFakeClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))})
	posts := webhook.NewContentPostWebhook(reader, admission.NewDecoder(s))
	policies := webhook.NewApprovalPolicyWebhook(reader, compiler)
	decoder := admission.NewDecoder(s)
	handlers := []struct {
		kind      string
		webhook   *admission.Webhook
		validates bool
		into      func() runtime.Object
	}{
		{"SignOff", admission.WithDefaulter(s, signOffs), false, func() runtime.Object { return &greenlightv1alpha1.SignOff{} }},
		{"SignOff", admission.WithValidator(s, signOffs), true, func() runtime.Object { return &greenlightv1alpha1.SignOff{} }},
		{"ContentPost", admission.WithDefaulter(s, posts), false, func() runtime.Object { return &greenlightv1alpha1.ContentPost{} }},
		{"ContentPost", admission.WithValidator(s, posts), true, func() runtime.Object { return &greenlightv1alpha1.ContentPost{} }},
		{"ApprovalPolicy", admission.WithValidator(s, policies), true, func() runtime.Object { return &greenlightv1alpha1.ApprovalPolicy{} }},
	}
	operations := []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete}
	f.Fuzz(func(t *testing.T, object, old []byte, which, op uint8) {
		h := handlers[int(which)%len(handlers)]
		operation := operations[int(op)%len(operations)]
		req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			UID: "fuzz", Operation: operation, Namespace: "fuzz", Name: "x",
			Kind:     metav1.GroupVersionKind{Group: "greenlight.dev", Version: "v1alpha1", Kind: h.kind},
			UserInfo: authenticationv1.UserInfo{Username: "alice", Groups: []string{"marketing"}},
			Object:   runtime.RawExtension{Raw: object}, OldObject: runtime.RawExtension{Raw: old},
		}}
		if operation == admissionv1.Delete {
			req.Object, req.OldObject = runtime.RawExtension{}, runtime.RawExtension{Raw: object}
		}
		resp := h.webhook.Handle(context.Background(), req)
		if resp.Allowed && h.validates && operation != admissionv1.Delete &&
			decoder.DecodeRaw(runtime.RawExtension{Raw: object}, h.into()) != nil {
			t.Fatalf("%s %s of an object that does not decode was allowed: %q", operation, h.kind, object)
		}
	})
}

func samplePost(ns, name string) *greenlightv1alpha1.ContentPost {
	return &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: "post-uid"},
		Spec: greenlightv1alpha1.ContentPostSpec{Author: "dana", Body: "Our spring line is here",
			Channels: []greenlightv1alpha1.Channel{{Name: "mastodon"}}},
	}
}

func samplePolicy(ns string) *greenlightv1alpha1.ApprovalPolicy {
	return &greenlightv1alpha1.ApprovalPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: ns, UID: "policy-uid"},
		Spec: greenlightv1alpha1.ApprovalPolicySpec{Stages: []greenlightv1alpha1.Stage{{Name: "brand",
			Departments: []greenlightv1alpha1.Department{{Name: "marketing", MinApprovals: 1,
				Approvers: greenlightv1alpha1.Approvers{Groups: []string{"marketing"}}}}}}},
	}
}

func approval(ns, post, department string) *greenlightv1alpha1.SignOff {
	return &greenlightv1alpha1.SignOff{
		ObjectMeta: metav1.ObjectMeta{GenerateName: post + "-", Namespace: ns},
		Spec:       greenlightv1alpha1.SignOffSpec{Post: post, Department: department, Decision: greenlightv1alpha1.DecisionApprove},
	}
}
