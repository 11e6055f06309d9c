package policy

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// FuzzWhen checks that any expression the compiler accepts can be evaluated against any post
// without panicking, and that an expression that fails to evaluate makes its department required
// (fail closed).
func FuzzWhen(f *testing.F) {
	for _, seed := range []string{
		`post.spec.channels.exists(c, c.name == "linkedin")`,
		`"regulated" in post.metadata.labels`,
		`post.metadata.labels.regulated == "true"`,
		`post.spec.media.size() > 0 && post.spec.media[0].url.startsWith("https://")`,
		`post.spec.body.matches("(a+)+$")`,
		`post.spec.channels.map(c, c.body).all(b, b.size() < 280)`,
		`[1,2,3].map(x, [x, x, x, x]).size() == 3`,
		`post.metadata.annotations["x"].split(",").size() > 2`,
		`1/0 == 1`,
		`dyn(post.spec.publishAt) > 3`,
	} {
		f.Add(seed, "true", "hello", "mastodon")
	}
	c, err := NewCompiler()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr, label, body, channel string) {
		program, err := c.Compile(expr)
		if err != nil {
			return // admission denies it; Resolve blocks the post
		}
		post := &greenlightv1alpha1.ContentPost{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"regulated": label},
				Annotations: map[string]string{"x": label}},
			Spec: greenlightv1alpha1.ContentPostSpec{Body: body, Channels: []greenlightv1alpha1.Channel{{Name: channel, Body: body}}},
		}
		d := Department{Department: greenlightv1alpha1.Department{Name: "legal"}, Policy: "acme", When: program}
		_, evalErr := Eval(program, post)
		required, message := required(d, post, false)
		if evalErr != nil && (!required || message == "") {
			t.Fatalf("%q failed to evaluate (%v) but the department is not required with a reason", expr, evalErr)
		}
	})
}
