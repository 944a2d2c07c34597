// Package org turns the organization's YAML configuration into a Model the
// analyses ask questions of: is this address internal, which zone is it in,
// is this flow allowed, is this time inside business hours, is this domain on
// an allowlist or an indicator list.
//
// The YAML keys are fixed by the product (evaluations outside the repo use
// them); every key is optional and every analysis says in the report when a
// missing key skipped or degraded it.
package org

import (
	"bytes"
	"fmt"
	"os"

	"github.com/goccy/go-yaml"
)

// Config is the YAML configuration as written by the user.
type Config struct {
	Timezone      string          `yaml:"timezone"`
	Networks      NetworksConfig  `yaml:"networks"`
	BusinessHours *HoursConfig    `yaml:"business_hours"`
	Allowlists    AllowConfig     `yaml:"allowlists"`
	Indicators    IndicatorConfig `yaml:"indicators"`
	Accounts      AccountsConfig  `yaml:"accounts"`
	Thresholds    ThresholdConfig `yaml:"thresholds"`
	Mail          MailConfig      `yaml:"mail"`
}

// NetworksConfig describes the address plan.
type NetworksConfig struct {
	Internal      []string            `yaml:"internal"`
	Zones         map[string][]string `yaml:"zones"`
	AllowedFlows  []FlowConfig        `yaml:"allowed_flows"`
	EgressAllowed []string            `yaml:"egress_allowed"`
}

// FlowConfig is one permitted inter-zone flow.
type FlowConfig struct {
	From  string `yaml:"from"`
	To    string `yaml:"to"`
	Ports []int  `yaml:"ports"`
}

// HoursConfig is the working week.
type HoursConfig struct {
	Days     []string `yaml:"days"`
	Start    string   `yaml:"start"`
	End      string   `yaml:"end"`
	Holidays []string `yaml:"holidays"`
}

// AllowConfig lists what is normal.
type AllowConfig struct {
	UserAgents         []string `yaml:"user_agents"`
	Domains            []string `yaml:"domains"`
	MaintenanceDomains []string `yaml:"maintenance_domains"`
}

// IndicatorConfig lists known-bad indicators inline or in files.
type IndicatorConfig struct {
	Domains []string `yaml:"domains"`
	IPs     []string `yaml:"ips"`
	URLs    []string `yaml:"urls"`
	Files   []string `yaml:"files"`
}

// AccountsConfig lists privileged accounts.
type AccountsConfig struct {
	Admins []AdminConfig `yaml:"admins"`
}

// AdminConfig is one admin account and the hosts it may authenticate from.
type AdminConfig struct {
	Name  string   `yaml:"name"`
	Hosts []string `yaml:"hosts"`
}

// ThresholdConfig holds the numeric knobs.
type ThresholdConfig struct {
	UploadBytes     int64 `yaml:"upload_bytes"`
	PeriodicMinDays int   `yaml:"periodic_min_days"`
	// PeriodicPopularClients: a destination contacted by this many internal
	// clients or more is popular (J8 folds its daily-only findings into one
	// note). 0 = automatic (10, or 10% of the clients seen if more); -1 = off.
	PeriodicPopularClients int `yaml:"periodic_popular_clients"`
	// DNSWindowSeconds is how long before a connection a DNS query still
	// explains it (J11). Default 600.
	DNSWindowSeconds int `yaml:"dns_window_seconds"`
	// AuthBurstFactor: a host-day with this many times its usual
	// authentication count is a sudden change (J13). Default 5.
	AuthBurstFactor float64 `yaml:"auth_burst_factor"`
	// AuthMinCount: counts below this are never anomalous (J13). Default 50.
	AuthMinCount int `yaml:"auth_min_count"`
}

// MailConfig holds mail-specific settings.
type MailConfig struct {
	// Domains are the organization's own mail domains.
	Domains []string `yaml:"domains"`
	// ExecutableExtensions overrides the list of attachment extensions J2
	// treats as executable.
	ExecutableExtensions []string `yaml:"executable_extensions"`
	// ArchiveExtensions overrides the archive list (lower severity).
	ArchiveExtensions []string `yaml:"archive_extensions"`
}

// MaxConfigBytes bounds the configuration file size.
const MaxConfigBytes = 4 << 20

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, MaxConfigBytes)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes YAML, rejecting unknown keys so that a typo does not silently
// disable an analysis.
func Parse(data []byte) (cfg *Config, err error) {
	// goccy/go-yaml v1.19.2 (the newest release) panics on some malformed
	// documents (a tagged scalar where a list is expected: see the fuzz
	// corpus of FuzzConfig). A bad configuration must be an error, never a
	// crash.
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	return parseYAML(data)
}

func parseYAML(data []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	if err := dec.Decode(&cfg); err != nil {
		if err.Error() == "EOF" {
			return &cfg, nil
		}
		return nil, fmt.Errorf("%w", err)
	}
	return &cfg, nil
}
