// Package testutil holds helpers shared by tests: where the public datasets
// are, and how to extract the sample lines embedded in other projects' test
// files.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Datasets returns the absolute path of ../shared/datasets (or
// $KIZUKI_DATASETS). When it is absent the test is skipped with a loud reason,
// unless KIZUKI_REQUIRE_DATASETS=1 (as in CI), where it fails.
func Datasets(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KIZUKI_DATASETS")
	if dir == "" {
		// Relative to the repository root, whatever the package directory.
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir = filepath.Join(root, "..", "shared", "datasets")
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		if st, err2 := os.Stat(abs); err2 == nil && st.IsDir() {
			return abs
		}
	}
	msg := "DATASETS MISSING: " + dir + " not found; set KIZUKI_DATASETS to ../shared/datasets to run this test"
	if os.Getenv("KIZUKI_REQUIRE_DATASETS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Dataset returns the path of a file or folder under the datasets root.
func Dataset(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Datasets(t), rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("KIZUKI_REQUIRE_DATASETS") == "1" {
			t.Fatalf("dataset %s: %v", rel, err)
		}
		t.Skipf("DATASETS MISSING: %s: %v", rel, err)
	}
	return p
}
