// Package formats assembles the registry of every format kizuki reads, in
// sniffing order: the most specific formats first, generic key=value last.
package formats

import (
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/bind"
	"github.com/kizuki-dev/kizuki/internal/parse/iptables"
	"github.com/kizuki-dev/kizuki/internal/parse/kv"
	"github.com/kizuki-dev/kizuki/internal/parse/netscreen"
	"github.com/kizuki-dev/kizuki/internal/parse/postfix"
	"github.com/kizuki-dev/kizuki/internal/parse/squid"
	"github.com/kizuki-dev/kizuki/internal/parse/winjson"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// Registry returns a new registry of all formats.
func Registry() *parse.Registry {
	return registry(false)
}

// RegistryWithRaw is Registry where binary formats also render each record
// as text into the event's raw field (EVTX records as one line of Windows
// event XML), which costs time: for `kizuki parse`, where the raw record is
// part of the output.
func RegistryWithRaw() *parse.Registry {
	return registry(true)
}

func registry(raw bool) *parse.Registry {
	return parse.NewRegistry(
		winxml.New(),
		winjson.New(),
		netscreen.New(),
		postfix.New(),
		bind.New(),
		iptables.New(),
		squid.NewCombined(),
		squid.NewNative(),
		kv.New(),
	).AddContainers(newEVTX(raw))
}
