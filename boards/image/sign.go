package image

import (
	"fmt"
	"os"
	"path/filepath"

	"pantavisor/lib/pvs/sign"
)

// SignAll is what the image builder's signature covers: every key of the
// state but the signature itself (sign.Add excludes it), so a device in
// strict mode finds the state fully covered.
var SignAll = []string{"**"}

// signatureName is the state key of the signature made with the signing
// directory dir: _sigs/<base of dir>.json (pvr names it after the part).
func signatureName(dir string) string { return "_sigs/" + filepath.Base(dir) + ".json" }

// loadSigner reads dir's key.pem and chain.pem (leaf first) into signing
// options that cover SignAll.
func loadSigner(dir string) (sign.Options, error) {
	opts := sign.Options{Include: SignAll}
	key, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	if err != nil {
		return opts, fmt.Errorf("signing key: %w", err)
	}
	if opts.Key, err = sign.ParseKey(key); err != nil {
		return opts, fmt.Errorf("signing key %s: %w", dir, err)
	}
	chain, err := os.ReadFile(filepath.Join(dir, "chain.pem"))
	if err != nil {
		return opts, fmt.Errorf("signing chain: %w", err)
	}
	if opts.Chain, err = sign.ParseChain(chain); err != nil {
		return opts, fmt.Errorf("signing chain %s: %w", dir, err)
	}
	return opts, nil
}

// SignState returns state signed with the key and chain of dir, as pvr
// would sign it (compact, the signature under signatureName(dir)).
func SignState(state []byte, dir string) ([]byte, error) {
	opts, err := loadSigner(dir)
	if err != nil {
		return nil, err
	}
	return sign.Add(state, signatureName(dir), opts)
}
