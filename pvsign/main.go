// Command pvsign signs a Pantavisor state as pvr does (pvs@2, lib/pvs/sign):
// a host tool for image builders, never part of the device binary.
//
// Usage:
//
//	pvsign -key KEY.pem [-chain CHAIN.pem] -name _sigs/NAME.json -include 'app/**,#spec' [-exclude 'app/src.json'] [-o OUT] STATE.json
//
// Without -chain the signature has no x5c and verifies with the device's
// pub.pem. The state is written compact, with the signature added (or
// replaced) under -name; -o defaults to stdout. Exit 0 signed, 1 error,
// 2 usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"pantavisor/lib/pvs/sign"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var errUsage = errors.New("usage: pvsign -key KEY.pem [-chain CHAIN.pem] -name _sigs/NAME.json -include GLOBS [-exclude GLOBS] [-o OUT] STATE.json")

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pvsign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "PEM private key (PKCS#8, PKCS#1 or SEC 1)")
	chain := fs.String("chain", "", "PEM certificates, leaf first (the x5c); none: the device's pub.pem")
	name := fs.String("name", "", "state key of the signature, e.g. _sigs/app.json")
	include := fs.String("include", "", "comma-separated pvs.include globs")
	exclude := fs.String("exclude", "", "comma-separated pvs.exclude globs")
	out := fs.String("o", "", "output file (default stdout)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *key == "" || *name == "" || *include == "" {
		fmt.Fprintln(stderr, errUsage)
		return 2
	}
	if err := signFile(fs.Arg(0), *key, *chain, *name, split(*include), split(*exclude), *out, stdout); err != nil {
		fmt.Fprintln(stderr, "pvsign:", err)
		return 1
	}
	return 0
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func signFile(statePath, keyPath, chainPath, name string, include, exclude []string, outPath string, stdout io.Writer) error {
	data, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	opts := sign.Options{Include: include, Exclude: exclude}
	if opts.Key, err = sign.ParseKey(data); err != nil {
		return fmt.Errorf("%s: %w", keyPath, err)
	}
	if chainPath != "" {
		if data, err = os.ReadFile(chainPath); err != nil {
			return err
		}
		if opts.Chain, err = sign.ParseChain(data); err != nil {
			return fmt.Errorf("%s: %w", chainPath, err)
		}
	}
	state, err := os.ReadFile(statePath)
	if err != nil {
		return err
	}
	signed, err := sign.Add(state, name, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", statePath, err)
	}
	if outPath == "" {
		_, err = stdout.Write(signed)
		return err
	}
	return os.WriteFile(outPath, signed, 0o644)
}
