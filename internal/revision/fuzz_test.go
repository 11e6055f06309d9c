package revision

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// fuzzSpec builds a post from fuzz input: two channels with optional variants (in either order),
// one medium and an optional publishAt.
func fuzzSpec(body, variantA, variantB, url, alt, sum string, swap bool, at int64) *greenlightv1alpha1.ContentPostSpec {
	s := &greenlightv1alpha1.ContentPostSpec{
		Body:     body,
		Channels: []greenlightv1alpha1.Channel{{Name: "a", Body: variantA}, {Name: "b", Body: variantB}},
		Media:    []greenlightv1alpha1.Media{{URL: url, AltText: alt, SHA256: sum}},
	}
	if swap {
		s.Channels[0], s.Channels[1] = s.Channels[1], s.Channels[0]
	}
	if at != 0 {
		t := metav1.NewTime(time.Unix(at%(1<<40), 0).In(time.FixedZone("X", int(at%50000))))
		s.PublishAt = &t
	}
	return s
}

// content is an independent model of what each covered field means, to compare digests with.
func content(s *greenlightv1alpha1.ContentPostSpec, field greenlightv1alpha1.CoveredField) string {
	switch field {
	case greenlightv1alpha1.CoverBody:
		variants := map[string]string{}
		for _, c := range s.Channels {
			if c.Body != "" {
				variants[c.Name] = c.Body
			}
		}
		return fmt.Sprintf("%q %q", s.Body, slices.Sorted(maps.Keys(variants))) + fmt.Sprint(variants)
	case greenlightv1alpha1.CoverMedia:
		return fmt.Sprintf("%q", s.Media)
	case greenlightv1alpha1.CoverChannels:
		byName := map[string]string{}
		for _, c := range s.Channels {
			byName[c.Name] = c.Body
		}
		return fmt.Sprintf("%q", byName)
	default:
		if s.PublishAt == nil {
			return ""
		}
		return s.PublishAt.UTC().Truncate(time.Second).String()
	}
}

// FuzzRevision checks the digest's two promises for every set of covered fields: the same content
// always has the same digest (whatever the channel order or time zone), and any change to a
// covered field gives a different digest.
func FuzzRevision(f *testing.F) {
	f.Add("Our spring line", "", "short", "https://cdn/a.png", "shirts", "", false, int64(1790000000),
		"Our spring line", "", "short", "https://cdn/a.png", "shirts", "", true, int64(1790000000))
	f.Add("x", "y", "", "u", "", "", false, int64(0), "x", "", "y", "u", "", "", false, int64(0))
	f.Add("\xff", "", "", "", "", "", false, int64(0), "\xfe", "", "", "", "", "", false, int64(0))
	f.Add("ab", "c", "", "", "", "", false, int64(0), "a", "bc", "", "", "", "", false, int64(0))
	f.Fuzz(func(t *testing.T, bodyA, varAA, varAB, urlA, altA, sumA string, swapA bool, atA int64,
		bodyB, varBA, varBB, urlB, altB, sumB string, swapB bool, atB int64) {
		a := fuzzSpec(bodyA, varAA, varAB, urlA, altA, sumA, swapA, atA)
		b := fuzzSpec(bodyB, varBA, varBB, urlB, altB, sumB, swapB, atB)
		fields := greenlightv1alpha1.AllCoveredFields
		for mask := 1; mask < 1<<len(fields); mask++ {
			var covers []greenlightv1alpha1.CoveredField
			same := true
			for i, field := range fields {
				if mask&(1<<i) != 0 {
					covers = append(covers, field)
					same = same && content(a, field) == content(b, field)
				}
			}
			if got := Covered(a, covers) == Covered(b, covers); got != same {
				t.Fatalf("covers %v: same content %v but same digest %v\na=%+v\nb=%+v", covers, same, got, a, b)
			}
		}
	})
}
