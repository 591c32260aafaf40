// Package kmod loads Linux kernel modules: it parses modules.dep and load
// lists, orders a module after its dependencies, and calls finit_module.
package kmod
