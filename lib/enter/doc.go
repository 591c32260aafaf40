// Package enter finds a running container's init and starts a command in
// its namespaces: the logic of the pventer applet.
package enter
