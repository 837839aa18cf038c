package translator

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
)

// nearbyDefinition is a file near a run's file that defines a step type
// the run uses but was not given: the run file's folder, its subfolders
// and its parent's. "" if none.
func nearbyDefinition(runFile, typ string) string {
	dir := filepath.Dir(runFile)
	header := regexp.MustCompile(`(?m)^("` + regexp.QuoteMeta(typ) + `"|` + regexp.QuoteMeta(typ) + `):\s*\{|^\s*name:\s*"?` + regexp.QuoteMeta(typ) + `"?\s*$`)
	var found string
	roots := []string{dir}
	if parent := filepath.Dir(dir); parent != dir && filepath.Dir(parent) != parent {
		roots = append(roots, parent) // not the filesystem's root
	}
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || found != "" {
				return filepath.SkipDir
			}
			if d.IsDir() {
				if p != root && filepath.Dir(p) != root && filepath.Dir(filepath.Dir(p)) != root {
					return filepath.SkipDir // two levels down at most
				}
				return nil
			}
			switch filepath.Ext(p) {
			case ".cue", ".yaml", ".yml":
			default:
				return nil
			}
			if p == runFile {
				return nil
			}
			data, err := os.ReadFile(p)
			if err == nil && len(data) < maxFileBytes && header.Match(data) && (filepath.Ext(p) == ".cue" || bytes.Contains(data, []byte("WorkflowStepDefinition"))) {
				found = p
			}
			return nil
		})
		if found != "" {
			return found
		}
	}
	return ""
}
