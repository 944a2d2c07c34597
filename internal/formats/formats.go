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
	)
}
