package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"pantavisor/boards"
	"pantavisor/lib/ctrl"
	"pantavisor/lib/pvs"
	"pantavisor/mkinitrd/cpio"
)

// trustPath is where the device reads its trust stores (lib/ctrl.TrustDir),
// as an archive name.
var trustPath = strings.TrimPrefix(ctrl.TrustDir, "/")

// errTrust is wrapped by every error about a trust directory that may not
// ship.
var errTrust = errors.New("trust store")

// trustFor returns the entries of -trust, else of the board's trust
// directory (b may be nil); none when neither is set.
func trustFor(o options, b *boards.Board) ([]cpio.Entry, []string, error) {
	dir := o.trust
	if dir == "" && b != nil {
		dir = b.TrustDir(o.boardsDir)
	}
	if dir == "" {
		return nil, nil, nil
	}
	return trustEntries(dir, time.Now())
}

// trustEntries returns the files of the trust directory dir as entries
// under trustPath, mode 0644, with their parent directories. Steps:
//  1. every entry of dir must be a regular file (symlinks followed) named
//     *.crt or pub.pem, and there must be at least one;
//  2. each .crt is loaded by pvs.LoadTrust, as the device does (pub.pem
//     with it), and must hold at least one certificate;
//  3. notes name certificates already expired at now and a missing
//     ca-certificates.crt (PV_SECUREBOOT_TRUSTSTORE's default).
func trustEntries(dir string, now time.Time) ([]cpio.Entry, []string, error) {
	names, err := trustFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	notes, err := checkTrust(dir, names, now)
	if err != nil {
		return nil, nil, err
	}
	es := []cpio.Entry{
		{Name: path.Dir(trustPath), Mode: cpio.TypeDir | 0o755},
		{Name: trustPath, Mode: cpio.TypeDir | 0o755},
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errTrust, err)
		}
		es = append(es, cpio.Entry{Name: trustPath + "/" + n, Mode: cpio.TypeReg | 0o644, Data: data})
	}
	return es, notes, nil
}

// trustFiles lists dir's trust files, sorted, refusing anything else.
func trustFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTrust, err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".crt") && n != pvs.PubFile {
			return nil, fmt.Errorf("%w: %s: not a trust file (want *.crt or %s)", errTrust, filepath.Join(dir, n), pvs.PubFile)
		}
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errTrust, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s: not a regular file", errTrust, filepath.Join(dir, n))
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %s: no *.crt or %s", errTrust, dir, pvs.PubFile)
	}
	sort.Strings(names)
	return names, nil
}

// checkTrust loads every .crt in names (and pub.pem) with pvs.LoadTrust.
func checkTrust(dir string, names []string, now time.Time) ([]string, error) {
	var notes []string
	crts := 0
	for _, n := range names {
		if n == pvs.PubFile {
			continue
		}
		crts++
		t, err := pvs.LoadTrust(dir, n, n)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errTrust, err)
		}
		if len(t.CA) == 0 {
			return nil, fmt.Errorf("%w: %s: no PEM certificate", errTrust, filepath.Join(dir, n))
		}
		for _, c := range t.CA {
			if now.After(c.NotAfter) {
				notes = append(notes, fmt.Sprintf("trust store %s: certificate %q expired on %s",
					n, c.CommonName, c.NotAfter.UTC().Format(time.DateOnly)))
			}
		}
	}
	if crts == 0 { // pub.pem alone: load it the way the device does
		if _, err := pvs.LoadTrust(dir, pvs.CAFile, pvs.OEMCAFile); err != nil {
			return nil, fmt.Errorf("%w: %w", errTrust, err)
		}
	}
	if i := sort.SearchStrings(names, pvs.CAFile); i == len(names) || names[i] != pvs.CAFile {
		notes = append(notes, fmt.Sprintf("trust store %s has no %s (the default PV_SECUREBOOT_TRUSTSTORE)", dir, pvs.CAFile))
	}
	return notes, nil
}
