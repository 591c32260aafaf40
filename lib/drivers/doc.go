// Package drivers loads the managed driver aliases of bsp/drivers.json for
// the containers that name them: required, optional and manual (pv-ctrl)
// aliases, with ${user-meta:KEY} substituted in module parameters.
package drivers
