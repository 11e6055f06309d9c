// Package golden compares a test's output with a file under testdata/, and rewrites the file
// when the test runs with -update, for the packages whose tests pin what people read (the
// plugin's views, the calendar, the report).
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata from the current output")

// Expect fails t unless got equals testdata/name; with -update it writes got there first.
func Expect(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		// A source directory and file, readable like the rest of the checkout.
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { //nolint:gosec // G301: see above
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil { //nolint:gosec // G306: a checked-in source file
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the output; rerun with -update if the change is intended.\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}
