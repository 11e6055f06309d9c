package policy

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func newPost(labels map[string]string, channels ...string) *greenlightv1alpha1.ContentPost {
	post := &greenlightv1alpha1.ContentPost{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: "brand", Labels: labels},
		Spec:       greenlightv1alpha1.ContentPostSpec{Body: "hello"},
	}
	for _, ch := range channels {
		post.Spec.Channels = append(post.Spec.Channels, greenlightv1alpha1.Channel{Name: ch})
	}
	return post
}

func newPolicy(name string, selector map[string]string, stages ...greenlightv1alpha1.Stage) greenlightv1alpha1.ApprovalPolicy {
	p := greenlightv1alpha1.ApprovalPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "brand"},
		Spec:       greenlightv1alpha1.ApprovalPolicySpec{Stages: stages},
	}
	if selector != nil {
		p.Spec.Selector = &metav1.LabelSelector{MatchLabels: selector}
	}
	return p
}

func stage(name string, departments ...string) greenlightv1alpha1.Stage {
	s := greenlightv1alpha1.Stage{Name: name}
	for _, d := range departments {
		s.Departments = append(s.Departments, greenlightv1alpha1.Department{
			Name: d, MinApprovals: 1, Approvers: greenlightv1alpha1.Approvers{Groups: []string{d}},
		})
	}
	return s
}

func withWhen(p greenlightv1alpha1.ApprovalPolicy, department, when string) greenlightv1alpha1.ApprovalPolicy {
	for i := range p.Spec.Stages {
		for j := range p.Spec.Stages[i].Departments {
			if p.Spec.Stages[i].Departments[j].Name == department {
				p.Spec.Stages[i].Departments[j].When = when
			}
		}
	}
	return p
}

func withChannel(p greenlightv1alpha1.ApprovalPolicy, channel string) greenlightv1alpha1.ApprovalPolicy {
	if p.Spec.Publishing == nil {
		p.Spec.Publishing = &greenlightv1alpha1.Publishing{Channels: map[string]greenlightv1alpha1.ChannelPublishing{}}
	}
	p.Spec.Publishing.Channels[channel] = greenlightv1alpha1.ChannelPublishing{}
	return p
}

func TestResolve(t *testing.T) {
	acme := map[string]string{"brand": "acme"}
	cases := []struct {
		name            string
		post            *greenlightv1alpha1.ContentPost
		policies        []greenlightv1alpha1.ApprovalPolicy
		wantPolicies    []string
		wantDepartments []string
		wantBlocked     string
		wantMessage     []string
	}{
		{
			name:        "no policy",
			post:        newPost(acme, "mastodon"),
			wantBlocked: ReasonNoMatchingPolicy,
			wantMessage: []string{"namespace brand", "labels: brand=acme"},
		},
		{
			name:        "a policy for another brand",
			post:        newPost(acme, "mastodon"),
			policies:    []greenlightv1alpha1.ApprovalPolicy{newPolicy("globex", map[string]string{"brand": "globex"}, stage("brand", "marketing"))},
			wantBlocked: ReasonNoMatchingPolicy,
		},
		{
			name:            "an empty selector selects every post",
			post:            newPost(nil, "mastodon"),
			policies:        []greenlightv1alpha1.ApprovalPolicy{withChannel(newPolicy("default", nil, stage("brand", "marketing"), stage("compliance", "legal")), "mastodon")},
			wantPolicies:    []string{"default"},
			wantDepartments: []string{"default/brand/marketing", "default/compliance/legal"},
		},
		{
			name: "two policies: union of their stages, in policy-name order",
			post: newPost(acme, "mastodon"),
			policies: []greenlightv1alpha1.ApprovalPolicy{
				newPolicy("zz-social", nil, stage("social", "community")),
				withChannel(newPolicy("acme", acme, stage("brand", "marketing", "public-relations"), stage("compliance", "legal")), "mastodon"),
			},
			wantPolicies:    []string{"acme", "zz-social"},
			wantDepartments: []string{"acme/brand/marketing", "acme/brand/public-relations", "acme/compliance/legal", "zz-social/social/community"},
		},
		{
			name: "the same department in two policies conflicts",
			post: newPost(acme, "mastodon"),
			policies: []greenlightv1alpha1.ApprovalPolicy{
				newPolicy("a", nil, stage("review", "legal")),
				newPolicy("b", nil, stage("review", "legal")),
			},
			wantBlocked: ReasonPolicyConflict,
			wantMessage: []string{"a and b both define department legal"},
		},
		{
			name: "two policies configuring a channel the post uses conflict",
			post: newPost(acme, "mastodon"),
			policies: []greenlightv1alpha1.ApprovalPolicy{
				withChannel(newPolicy("a", nil, stage("review", "legal")), "mastodon"),
				withChannel(newPolicy("b", nil, stage("review", "marketing")), "mastodon"),
			},
			wantBlocked: ReasonPolicyConflict,
			wantMessage: []string{"a and b both configure publishing to channel mastodon"},
		},
		{
			name: "two policies configuring a channel the post does not use do not conflict",
			post: newPost(acme, "linkedin"),
			policies: []greenlightv1alpha1.ApprovalPolicy{
				withChannel(withChannel(newPolicy("a", nil, stage("review", "legal")), "mastodon"), "linkedin"),
				withChannel(newPolicy("b", nil, stage("review", "marketing")), "mastodon"),
			},
			wantPolicies:    []string{"a", "b"},
			wantDepartments: []string{"a/review/legal", "b/review/marketing"},
		},
		{
			name: "a channel no applying policy publishes to blocks the post, naming it",
			post: newPost(acme, "mastodon", "linkedin"),
			policies: []greenlightv1alpha1.ApprovalPolicy{
				withChannel(newPolicy("a", nil, stage("review", "legal")), "mastodon"),
				withChannel(newPolicy("globex", map[string]string{"brand": "globex"}, stage("review", "marketing")), "linkedin"),
			},
			wantBlocked: ReasonNoPublisher,
			wantMessage: []string{"channel linkedin: none of the ApprovalPolicies that apply to this post (a) publishes to it"},
		},
		{
			name:        "a when that does not compile blocks the post",
			post:        newPost(acme, "mastodon"),
			policies:    []greenlightv1alpha1.ApprovalPolicy{withWhen(newPolicy("acme", nil, stage("brand", "marketing")), "marketing", "post.spec.channels.exists(c, c.name ==")},
			wantBlocked: ReasonInvalidPolicy,
			wantMessage: []string{"ApprovalPolicy acme", "department marketing", "does not compile", "<input>:1:"},
		},
		{
			name: "an invalid selector blocks every post: it cannot tell which it covers",
			post: newPost(acme, "mastodon"),
			policies: []greenlightv1alpha1.ApprovalPolicy{func() greenlightv1alpha1.ApprovalPolicy {
				p := newPolicy("broken", nil, stage("brand", "marketing"))
				p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "brand", Operator: "Like"}}}
				return p
			}()},
			wantBlocked: ReasonInvalidPolicy,
			wantMessage: []string{"ApprovalPolicy broken has an invalid spec.selector"},
		},
	}

	compiler, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			req, blocked := Resolve(tc.post, tc.policies, compiler)
			if tc.wantBlocked != "" {
				g.Expect(req).To(BeNil())
				g.Expect(blocked).NotTo(BeNil())
				g.Expect(blocked.Reason).To(Equal(tc.wantBlocked))
				for _, m := range tc.wantMessage {
					g.Expect(blocked.Message).To(ContainSubstring(m))
				}
				return
			}
			g.Expect(blocked).To(BeNil())
			g.Expect(req.Policies).To(Equal(tc.wantPolicies))
			var got []string
			for _, d := range req.Departments {
				got = append(got, d.Policy+"/"+d.Stage+"/"+d.Name)
			}
			g.Expect(got).To(Equal(tc.wantDepartments))
		})
	}
}

func TestWhen(t *testing.T) {
	cases := []struct {
		name     string
		when     string
		post     *greenlightv1alpha1.ContentPost
		want     bool
		wantErr  string
		compiles bool
	}{
		{"channel present", `post.spec.channels.exists(c, c.name == "linkedin")`, newPost(nil, "mastodon", "linkedin"), true, "", true},
		{"channel absent", `post.spec.channels.exists(c, c.name == "linkedin")`, newPost(nil, "mastodon"), false, "", true},
		{"label", `"regulated" in post.metadata.labels && post.metadata.labels.regulated == "true"`, newPost(map[string]string{"regulated": "true"}, "x"), true, "", true},
		{"absent media is an empty list", `post.spec.media.size() > 0`, newPost(nil, "x"), false, "", true},
		{"missing label is a runtime error", `post.metadata.labels.regulated == "true"`, newPost(nil, "x"), false, "no such key", true},
		{"not a bool at run time", `post.spec.body`, newPost(nil, "x"), false, "not a bool", true},
		{"not a bool at compile time", `1 + 1`, nil, false, "must evaluate to a bool", false},
		{"unknown variable", `postt.spec.body == ""`, nil, false, "undeclared reference to 'postt'", false},
	}
	compiler, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			program, err := compiler.Compile(tc.when)
			if !tc.compiles {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			got, err := Eval(program, tc.post)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestValidate(t *testing.T) {
	g := NewWithT(t)
	compiler, err := NewCompiler()
	g.Expect(err).NotTo(HaveOccurred())
	p := withWhen(newPolicy("acme", nil, stage("brand", "marketing"), stage("compliance", "legal")), "legal", "post.spec.body.contains(")
	problems := Validate(&p, compiler)
	g.Expect(problems).To(HaveLen(1))
	g.Expect(problems[0]).To(And(ContainSubstring("spec.stages[1].departments[0].when (department legal) does not compile"), ContainSubstring("<input>:1:")))
}

// TestRequirementsRatchet covers findings 1 and 2: once a submitted post matched a policy and a
// department was required, no edit of the post's labels, annotations or spec releases it; only
// a new generation of the policy re-evaluates.
func TestRequirementsRatchet(t *testing.T) {
	regulated := withWhen(newPolicy("base", nil, stage("brand", "marketing", "legal")), "legal", `"regulated" in post.metadata.labels`)
	regulated = withChannel(regulated, "mastodon")
	regulated.UID, regulated.Generation = "base-uid", 3
	strict := newPolicy("strict", map[string]string{"regulated": "true"}, stage("compliance", "counsel"))
	strict.UID, strict.Generation = "strict-uid", 1
	policies := []greenlightv1alpha1.ApprovalPolicy{regulated, strict}

	type expect struct {
		policies []string
		required []string // departments required, in order
	}
	cases := []struct {
		name   string
		submit bool // evaluate once submitted with the label before the edit
		edit   func(*greenlightv1alpha1.ContentPost, []greenlightv1alpha1.ApprovalPolicy)
		want   expect
	}{
		{"with the label, everything applies", false, func(*greenlightv1alpha1.ContentPost, []greenlightv1alpha1.ApprovalPolicy) {},
			expect{[]string{"base", "strict"}, []string{"marketing", "legal", "counsel"}}},
		{"a draft that loses the label was never submitted: nothing held", false, func(p *greenlightv1alpha1.ContentPost, _ []greenlightv1alpha1.ApprovalPolicy) {
			p.Spec.Draft = true
			p.Labels = nil
		}, expect{[]string{"base"}, []string{"marketing"}}},
		{"a submitted post that loses the label keeps both", true, func(p *greenlightv1alpha1.ContentPost, _ []greenlightv1alpha1.ApprovalPolicy) {
			p.Labels = nil
		}, expect{[]string{"base", "strict"}, []string{"marketing", "legal", "counsel"}}},
		{"and keeps them when set back to draft", true, func(p *greenlightv1alpha1.ContentPost, _ []greenlightv1alpha1.ApprovalPolicy) {
			p.Labels, p.Spec.Draft = nil, true
		}, expect{[]string{"base", "strict"}, []string{"marketing", "legal", "counsel"}}},
		{"a new policy generation re-evaluates", true, func(p *greenlightv1alpha1.ContentPost, ps []greenlightv1alpha1.ApprovalPolicy) {
			p.Labels = nil
			ps[0].Generation++
			ps[1].Generation++
		}, expect{[]string{"base"}, []string{"marketing"}}},
		{"a policy deleted and created again is a new policy", true, func(p *greenlightv1alpha1.ContentPost, ps []greenlightv1alpha1.ApprovalPolicy) {
			p.Labels = nil
			ps[1].UID = "strict-uid-2"
		}, expect{[]string{"base"}, []string{"marketing", "legal"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ps := []greenlightv1alpha1.ApprovalPolicy{*policies[0].DeepCopy(), *policies[1].DeepCopy()}
			post := newPost(map[string]string{"regulated": "true"}, "mastodon")
			if tc.submit {
				req, blocked := Resolve(post, ps, compiler(g))
				g.Expect(blocked).To(BeNil())
				post.Status.AppliedPolicies = req.Applied
			}
			tc.edit(post, ps)
			req, blocked := Resolve(post, ps, compiler(g))
			g.Expect(blocked).To(BeNil())
			g.Expect(req.Policies).To(Equal(tc.want.policies))
			var required []string
			for _, d := range req.Departments {
				if d.Required {
					required = append(required, d.Name)
				}
			}
			g.Expect(required).To(Equal(tc.want.required))
		})
	}
}

func compiler(g Gomega) *Compiler {
	c, err := NewCompiler()
	g.Expect(err).NotTo(HaveOccurred())
	return c
}
