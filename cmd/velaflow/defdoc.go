package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

// parameterTable lists parameters as vela show does.
func parameterTable(params []cuedefs.Parameter) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "PARAMETER\tTYPE\tREQUIRED\tDEFAULT\tDESCRIPTION")
	for _, p := range params {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.Type, yesNo(p.Required), dash(p.Default), p.Description)
	}
	tw.Flush()
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// newDefDocCmd writes a Markdown reference of the step types.
func newDefDocCmd(load func(*cobra.Command) (*translator.Catalog, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "doc DIR",
		Short: "Write a Markdown reference of every step type (the built-ins and --definitions) into DIR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := load(cmd)
			if err != nil {
				return err
			}
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			var index strings.Builder
			index.WriteString("# Step types\n\n| type | description |\n| --- | --- |\n")
			for _, t := range cuedefs.SortedTypes(c.Definitions) {
				d := c.Definitions[t]
				page, err := typePage(d)
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, t+".md"), []byte(page), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(&index, "| [%s](%s.md) | %s |\n", t, t, mdCell(d.Description))
			}
			if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(index.String()), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d step types into %s\n", len(c.Definitions), dir)
			return nil
		},
	}
}

// typePage is one step type's reference: description, parameters, an
// example step, and its definition.
func typePage(d cuedefs.Definition) (string, error) {
	params, err := d.Parameters()
	if err != nil {
		return "", err
	}
	src, err := d.VelaDef()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\n## Parameters\n\n", d.Type, d.Description)
	if len(params) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| name | type | required | default | description |\n| --- | --- | --- | --- | --- |\n")
		for _, p := range params {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", p.Name, mdCell(p.Type), yesNo(p.Required), codeOrDash(p.Default), mdCell(p.Description))
		}
	}
	fmt.Fprintf(&b, "\n## Example\n\n```yaml\n- name: my-step\n  type: %s\n", d.Type)
	var required []string
	for _, p := range params {
		if p.Required && !strings.Contains(p.Name, ".") {
			required = append(required, p.Name)
		}
	}
	if len(required) > 0 {
		b.WriteString("  properties:\n")
		for _, n := range required {
			fmt.Fprintf(&b, "    %s: ...\n", n)
		}
	}
	fmt.Fprintf(&b, "```\n\n## Definition\n\n```cue\n%s```\n", src)
	return b.String(), nil
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func codeOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return "`" + mdCell(s) + "`"
}
