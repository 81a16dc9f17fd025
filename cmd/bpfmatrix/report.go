package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness/report"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

const reportUsage = `Usage:
  bpfmatrix report [--format text|json|junit|markdown|html] [--show WHICH] [-o FILE] results.json
  bpfmatrix report merge [-o FILE] a.json b.json ...
  bpfmatrix report diff old.json new.json

report renders a results file written by "bpfmatrix run --json" in any
format; the output is the same, byte for byte, as what run wrote. The
text matrix fits the terminal (COLUMNS, else the terminal's width, else
120 columns); --show selects its rows: all, fail, fallback, unexpected
or differs (the rows where the kernels do not all agree).
merge combines the results of the shards of one run (run --shard i/n):
columns in catalog order, complete only if every shard is, seconds of the
slowest shard. diff lists the cells that changed between two runs,
regressions first, and exits 1 if there is a regression.

Flags:
`

func reportCmd(_ context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "merge":
			return reportMerge(stdout, stderr, args[1:])
		case "diff":
			return reportDiff(stdout, stderr, args[1:])
		}
	}
	fs := cmdflag.NewFlagSet("report", reportUsage, stderr)
	format := fs.String("format", "text", "output `FORMAT`: text, json, junit, markdown or html")
	out := fs.String("o", "", "write to `FILE` instead of stdout")
	showFlag := fs.String("show", "auto", "rows of the text matrix to show: `WHICH` of "+cmdflag.ShowNames())
	if help, err := parseReportFlags(fs, args); help || err != nil {
		return err
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("%w: --format: %v", errUsage, err)
	}
	show, err := matrix.ParseShow(*showFlag)
	if err != nil {
		return fmt.Errorf("%w: --show: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: report needs exactly one results file (written by run --json), got %d arguments", errUsage, fs.NArg())
	}
	res, err := results.ReadJSON(fs.Arg(0))
	if err != nil {
		return err
	}
	if *out != "" && f == report.FormatText && show != matrix.ShowAll {
		return atomicfile.Write(*out, 0o644, func(w io.Writer) error {
			return text.Write(w, res, text.Options{Show: show})
		})
	}
	if *out != "" {
		return report.WriteFile(*out, res, f)
	}
	if f == report.FormatText {
		return text.Write(stdout, res, cmdflag.TextOptions(stdout, show))
	}
	return report.Render(stdout, res, f)
}

func reportMerge(stdout, stderr io.Writer, args []string) error {
	fs := cmdflag.NewFlagSet("report merge", reportUsage, stderr)
	out := fs.String("o", "", "write the merged results to `FILE` instead of stdout")
	if help, err := parseReportFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: report merge needs the results files of the shards (report merge -o all.json a.json b.json)", errUsage)
	}
	var inputs []report.Input
	for _, path := range fs.Args() {
		r, err := results.ReadJSON(path)
		if err != nil {
			return err
		}
		inputs = append(inputs, report.Input{Name: path, Result: r})
	}
	merged, err := report.Merge(inputs...)
	if err != nil {
		return err
	}
	if *out != "" {
		return report.WriteFile(*out, merged, report.FormatJSON)
	}
	return report.JSON(stdout, merged)
}

func reportDiff(stdout, stderr io.Writer, args []string) error {
	fs := cmdflag.NewFlagSet("report diff", reportUsage, stderr)
	if help, err := parseReportFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: report diff needs two results files, old then new, got %d", errUsage, fs.NArg())
	}
	old, err := results.ReadJSON(fs.Arg(0))
	if err != nil {
		return err
	}
	cur, err := results.ReadJSON(fs.Arg(1))
	if err != nil {
		return err
	}
	changes := report.Diff(old, cur)
	if err := report.WriteDiff(stdout, changes); err != nil {
		return err
	}
	if report.HasRegression(changes) {
		return fmt.Errorf("%w: regressions from %s to %s", errFailed, fs.Arg(0), fs.Arg(1))
	}
	return nil
}

// parseReportFlags parses args, allowing flags after the file names
// ("report results.json -o out.html"). help is true when -h printed the
// usage.
func parseReportFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return true, nil
			}
			return false, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return false, fs.Parse(append([]string{"--"}, pos...))
}
