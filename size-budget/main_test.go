package main

import (
	"debug/elf"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSumByPackage(t *testing.T) {
	sections := []*elf.Section{
		{SectionHeader: elf.SectionHeader{Name: ""}},
		{SectionHeader: elf.SectionHeader{Name: ".text", Type: elf.SHT_PROGBITS}},
		{SectionHeader: elf.SectionHeader{Name: ".noptrbss", Type: elf.SHT_NOBITS}},
		{SectionHeader: elf.SectionHeader{Name: ".rodata", Type: elf.SHT_PROGBITS}},
	}
	syms := []elf.Symbol{
		{Name: "pantavisor/lib/kmod.(*Deps).Order", Size: 120, Section: 1},
		{Name: "pantavisor/lib/kmod.Name", Size: 80, Section: 1},
		{Name: "crypto/internal/fips140/drbg.memory", Size: 33554432, Section: 2},
		{Name: "type:*pantavisor/lib/kmod.Deps", Size: 40, Section: 3},
		{Name: "main.main", Size: 10, Section: 1},
		{Name: "undefined", Size: 10, Section: elf.SHN_UNDEF},
		{Name: "abs", Size: 10, Section: elf.SHN_ABS},
	}
	assert.Equal(t, map[string]int64{
		"pantavisor/lib/kmod":            200,
		"(type data and runtime tables)": 40,
		"main":                           10,
	}, sumByPackage(syms, sections), "NOBITS and special sections take no file space")
}

func TestSymbolPackage(t *testing.T) {
	for sym, want := range map[string]string{
		"pantavisor/lib/kmod.(*Deps).Order": "pantavisor/lib/kmod",
		"fmt.Println":                       "fmt",
		"go:func.*":                         "(type data and runtime tables)",
		"noDot":                             "(other)",
	} {
		assert.Equal(t, want, symbolPackage(sym), sym)
	}
}
