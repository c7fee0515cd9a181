package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tagflow/tagflow/internal/gen"
)

func main() {
	cfg := gen.Default()
	out := flag.String("out", "", "directory to create (must not exist)")
	mb := flag.Int64("mb", cfg.Bytes>>20, "approximate total size in MiB")
	manifest := flag.String("manifest", "", "also write the policies (ID ref-A ref-B per line) to this file")
	flag.IntVar(&cfg.Files, "files", cfg.Files, "number of files")
	flag.IntVar(&cfg.Markers, "markers", cfg.Markers, "number of markers")
	flag.IntVar(&cfg.Policies, "policies", cfg.Policies, "number of policies")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gentree: -out DIR is required")
		os.Exit(2)
	}
	if _, err := os.Stat(*out); err == nil {
		fmt.Fprintf(os.Stderr, "gentree: %s already exists\n", *out)
		os.Exit(1)
	}
	cfg.Bytes = *mb << 20
	t, err := gen.Generate(*out, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
	if *manifest != "" {
		if err := t.WriteManifest(*manifest); err != nil {
			fmt.Fprintln(os.Stderr, "gentree:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("%s: %d files, %.1f MiB, %d markers in %d files (%.1f MiB), %d policies\n",
		t.Root, t.Files, float64(t.Bytes)/(1<<20), t.Markers, t.MarkedFiles, float64(t.MarkedBytes)/(1<<20), len(t.Policies))
}
