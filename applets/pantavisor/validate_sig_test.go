package pantavisor

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const trustDir = conformance + "pvs/trust"

// confAt is within the conformance leaf certificate's validity.
const confAt = "--at=2023-06-01T00:00:00Z"

func TestValidateSignatures(t *testing.T) {
	dev := `chain=pv-developer-01,"Pantavisor Dev CA"`
	for _, tc := range []struct {
		args   []string
		code   int
		lines  []string // in stdout, in this order, after the summary
		stderr string
	}{
		{[]string{"--trust", trustDir, confAt, "--secureboot", "strict", resources + "bsp_update.json"}, 0,
			[]string{"signature _sigs/bsp.json: ok RS256 keys=8 " + dev, "secureboot: strict ok"}, ""},
		{[]string{"--trust", trustDir, confAt, resources + "awconnect.json"}, 0,
			[]string{"signature _sigs/awconnect.json: ok RS256 keys=9 " + dev, "secureboot: lenient ok"}, ""},
		{[]string{"--trust", trustDir, confAt, "--secureboot", "audit", resources + "awconnect.json"}, 0,
			[]string{"signature _sigs/awconnect.json: ok RS256 keys=9 " + dev, "uncovered: #spec", "secureboot: audit ok"}, ""},
		{[]string{"--trust", trustDir, confAt, "--secureboot", "strict", resources + "awconnect.json"}, 1,
			[]string{"uncovered: #spec", "secureboot: strict refused"}, "Secureboot: State not fully covered by signatures"},
		{[]string{"--trust", trustDir, confAt, "--secureboot", "lenient", resources + "initial_state.json"}, 1,
			[]string{"signature _sigs/_hostconfig.json: signature does not verify", "signature _sigs/awconnect.json: ok RS256 keys=9 " + dev, "secureboot: lenient refused"},
			"Secureboot: Signature validation failed: _sigs/_hostconfig.json"},
		{[]string{"--trust", trustDir, confAt, resources + "bsp_init.json"}, 1,
			[]string{"signature _sigs/bsp.json: signer not trusted"}, "Secureboot: Signature validation failed"},
		{[]string{"--trust", trustDir, "--at=2025-01-01T00:00:00Z", resources + "bsp_update.json"}, 1,
			[]string{"signature _sigs/bsp.json: signer not trusted: x509: certificate has expired"}, "Signature validation failed"},
		{[]string{"--secureboot", "strict", resources + "state_with_spaces.json"}, 1,
			[]string{"uncovered: #spec", "secureboot: strict refused"}, "State not fully covered by signatures"},
		{[]string{"--secureboot", "disabled", resources + "initial_state.json"}, 0, []string{"secureboot: disabled ok"}, ""},
	} {
		name := strings.Join(tc.args, " ")
		code, out, errs := validateRun(tc.args...)
		assert.Equal(t, tc.code, code, "%s: %s", name, errs)
		assert.True(t, strings.HasPrefix(out, "spec: pantavisor-service-system@1\n"), name)
		rest := out
		for _, l := range tc.lines {
			i := strings.Index(rest, "\n"+l)
			if !assert.GreaterOrEqual(t, i, 0, "%s: %q not in order in\n%s", name, l, out) {
				break
			}
			rest = rest[i+1:]
		}
		if tc.stderr == "" {
			assert.Empty(t, errs, name)
		} else {
			assert.Contains(t, errs, tc.stderr, name)
			assert.True(t, strings.HasPrefix(errs, "ERROR: "), name)
		}
	}
}

func TestValidateSignatureUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--secureboot", "enforce", resources + "os.json"},
		{"--trust", trustDir, "--at", "yesterday", resources + "os.json"},
		{"--at", "2023-06-01T00:00:00Z", resources + "os.json"},
		{"--oem", "acme", resources + "os.json"},
	} {
		code, out, errs := validateRun(args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.Contains(t, errs, "usage: pantavisor validate", "%v", args)
	}
	code, out, _ := validateRun(resources + "initial_state.json")
	assert.Equal(t, 0, code, "without --trust or --secureboot signatures are not checked")
	assert.NotContains(t, out, "signature ")
}
