package translator

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// seedFiles adds every input under testdata (the bad-input corpus and the
// good examples) to a fuzz target's seed corpus; `go test` runs the seeds,
// `make fuzz` mutates them.
func seedFiles(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, file := range append(files, bad...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// Splitting any bytes into YAML documents ends, without a panic, and an
// error names a line.
func FuzzDecodeDocuments(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errs := decodeDocuments("fuzz.yaml", data)
		for _, e := range errs {
			if e.Line < 1 {
				t.Errorf("an error without a line: %v", e)
			}
		}
	})
}

// Translating any file ends, without a panic, and every error names the
// file and a line.
func FuzzTranslate(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "run.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := TranslateAll(Options{Files: []string{file}})
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatalf("translation still running after a minute:\n%s", data)
		}
		if err == nil {
			return
		}
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("an error that is not located: %v", err)
		}
		for _, e := range errs {
			if e.File != file || e.Line < 1 {
				t.Errorf("an error without the file and a line: %v", e)
			}
		}
	})
}
