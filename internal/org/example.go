package org

import _ "embed"

// Example is the commented configuration `kizuki init-config` prints.
//
//go:embed example.yaml
var Example string
