package report

import "testing"

func TestCSVCellsNeverRunAsFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"spring-launch":                  "spring-launch",
		"=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
		"+1+1":                           "'+1+1",
		"@SUM(A1)":                       "'@SUM(A1)",
		"-12":                            "-12",
		"-x":                             "'-x",
		"":                               "",
	} {
		if got := inertCell(in); got != want {
			t.Errorf("inertCell(%q) = %q, want %q", in, got, want)
		}
	}
}
