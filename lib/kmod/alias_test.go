package kmod

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const aliasFile = `# Aliases extracted from modules themselves.
alias rtnl-link-bridge bridge
alias net-pf-7 bridge
alias nfnetlink-subsys-10 nf_tables
alias nft-chain-2-nat nft_chain_nat
alias nft-expr-2-masq nft_masq
alias pci:v00008086d00001237sv*sd*bc*sc*i* intel_agp
alias pci:v00008086d*sv*sd*bc02sc00i* e1000e
alias pci:v00008086d00001237sv*sd*bc*sc*i* other_agp
alias fs-[ext4 broken_glob
`

func TestResolve(t *testing.T) {
	aliases, err := ParseAlias(strings.NewReader(aliasFile))
	require.NoError(t, err)
	require.Len(t, aliases, 9)
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"rtnl-link-bridge", []string{"bridge"}},
		{"nft-chain-2-nat", []string{"nft_chain_nat"}},
		{"pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00", []string{"intel_agp", "other_agp"}},
		{"pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00", []string{"e1000e"}},
		{"fs-[ext4", []string{"broken_glob"}}, // not a valid glob: compared as written
		{"rtnl-link-veth", nil},
		{"bridge", nil}, // a module name, not an alias
	} {
		assert.Equal(t, tc.want, Resolve(aliases, tc.name), tc.name)
	}
}

func TestParseAliasErrors(t *testing.T) {
	for _, in := range []string{"alias onlyone\n", "options bridge x=1\n", "alias a b c\n"} {
		_, err := ParseAlias(strings.NewReader(in))
		assert.ErrorContains(t, err, "modules.alias line 1", in)
	}
}

func FuzzParseAlias(f *testing.F) {
	f.Add(aliasFile, "rtnl-link-bridge")
	f.Fuzz(func(t *testing.T, in, name string) {
		aliases, err := ParseAlias(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range Resolve(aliases, name) {
			assert.NotEmpty(t, m)
		}
	})
}
