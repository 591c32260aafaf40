// Package rtnl is a small rtnetlink (NETLINK_ROUTE) client: links,
// bridges, veth pairs and macvlans created straight into other network
// namespaces, addresses and default routes, without package net.
package rtnl
